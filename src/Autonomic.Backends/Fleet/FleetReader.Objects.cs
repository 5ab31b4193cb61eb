using Autonomic.Core.Specs;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Backends.Fleet;

internal sealed partial class FleetReader
{
    private static readonly string[] ObjectsKeys = ["default", "max_upload", "stores"];
    private static readonly string[] ObjectStoreKeys =
        ["type", "path", "url", "bucket", "region", "access_key_env", "secret_key_env", "force_path_style", "create_bucket", "part_size"];
    private static readonly string[] S3OnlyKeys = ["url", "bucket", "region", "access_key_env", "secret_key_env", "force_path_style", "create_bucket", "part_size"];
    private const long MinPartSize = 5 * 1024 * 1024;

    /// <summary><c>control_plane.objects</c>: the named object stores and which one is the default.</summary>
    private ObjectsSettings ReadObjects(Section s)
    {
        var d = new ObjectsSettings();
        var stores = new Dictionary<string, ObjectStoreSpec>(StringComparer.Ordinal);
        if (s.TryGet("stores", out YamlNode? storesNode, out _))
        {
            if (storesNode is not YamlMappingNode map)
            {
                throw Fail(storesNode, s.Field("stores"), $"expected a mapping of store name to store, got {Section.Describe(storesNode)}");
            }

            foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
            {
                string name = pair.Key is YamlScalarNode { Value: { } v } ? v : throw Fail(pair.Key, s.Field("stores"), "store names must be plain text");
                string field = s.Field("stores") + "." + name;
                if (!FleetFile.DnsLabel().IsMatch(name))
                {
                    throw Fail(pair.Key, field, $"store name {FleetValues.Quote(name)} must be lowercase letters, digits and '-', starting with a letter");
                }

                stores[name] = ReadObjectStore(Section.Of(this, pair.Value, field, ObjectStoreKeys), pair.Key);
            }
        }

        if (stores.Count == 0)
        {
            stores = new Dictionary<string, ObjectStoreSpec>(d.Stores, StringComparer.Ordinal);
        }

        string defaultName = s.Text("default", t => FleetValues.NonEmpty(t, "a store name"))
            ?? (stores.Count == 1 ? stores.Keys.Single() : d.Default);
        if (!stores.ContainsKey(defaultName))
        {
            YamlNode node = s.TryGet("default", out YamlNode? dn, out _) ? dn : s.Node;
            throw Fail(node, s.Field("default"), FleetValues.Unknown("object store", defaultName, stores.Keys.ToList()));
        }

        return new ObjectsSettings { Default = defaultName, Stores = stores, MaxUploadBytes = s.Size("max_upload") ?? d.MaxUploadBytes };
    }

    private ObjectStoreSpec ReadObjectStore(Section s, YamlNode nameNode)
    {
        var d = new ObjectStoreSpec();
        string type = s.Text("type", t => ObjectStoreTypes.All.Contains(t) ? null : FleetValues.Unknown("object store type", t, [.. ObjectStoreTypes.All]))
            ?? throw Fail(nameNode, s.Field("type"), "missing; a store has type: directory or type: s3");
        if (type == ObjectStoreTypes.Directory)
        {
            foreach (string key in S3OnlyKeys)
            {
                if (s.TryGet(key, out YamlNode? node, out _))
                {
                    throw Fail(node, s.Field(key), $"{key} applies to s3 stores only");
                }
            }

            return new ObjectStoreSpec
            {
                Type = type,
                Path = s.Text("path", t => FleetValues.NonEmpty(t, "a directory")) ?? throw Fail(nameNode, s.Field("path"), "missing; a directory store needs path: DIR"),
            };
        }

        if (s.TryGet("path", out YamlNode? pathNode, out _))
        {
            throw Fail(pathNode, s.Field("path"), "path applies to directory stores only; an s3 store has url and bucket");
        }

        long partSize = s.Size("part_size") ?? d.PartSize;
        if (partSize < MinPartSize || partSize > int.MaxValue)
        {
            s.TryGet("part_size", out YamlNode? partNode, out _);
            throw Fail(partNode!, s.Field("part_size"), "expected a part size from 5Mi (S3's minimum) to 2Gi");
        }

        return new ObjectStoreSpec
        {
            Type = type,
            Url = s.Text("url", FleetValues.HttpUrl),
            Bucket = s.Text("bucket", BucketName) ?? throw Fail(nameNode, s.Field("bucket"), "missing; an s3 store needs bucket: NAME"),
            Region = s.Text("region", t => FleetValues.NonEmpty(t, "a region like us-east-1")) ?? d.Region,
            AccessKeyEnv = s.Text("access_key_env", EnvName) ?? d.AccessKeyEnv,
            SecretKeyEnv = s.Text("secret_key_env", EnvName) ?? d.SecretKeyEnv,
            ForcePathStyle = s.Bool("force_path_style") ?? d.ForcePathStyle,
            CreateBucket = s.Bool("create_bucket") ?? d.CreateBucket,
            PartSize = partSize,
        };
    }

    private static string? EnvName(string text) =>
        FleetFile.EnvName().IsMatch(text) ? null : $"expected the name of an environment variable (letters, digits, '_'), got {FleetValues.Quote(text)}; never the key itself";

    private static string? BucketName(string text) =>
        text.Length is >= 3 and <= 63 && text.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.')
            ? null
            : $"expected an S3 bucket name (3-63 lowercase letters, digits, '-' and '.'), got {FleetValues.Quote(text)}";
}
