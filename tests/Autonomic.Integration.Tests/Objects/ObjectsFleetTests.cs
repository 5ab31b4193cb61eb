using Autonomic.Backends.Fleet;
using Autonomic.Backends.Objects;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>control_plane.objects in the fleet file: parsed, defaulted, and refused with file:line:col.</summary>
public sealed class ObjectsFleetTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private static FleetSpec Parse(string yaml) => FleetFile.Parse(yaml, "fleet.yaml", NoEnvironment);

    private static FleetFileException Refused(string yaml) => Assert.Throws<FleetFileException>(() => Parse(yaml));

    [Fact]
    public void Without_objects_there_is_one_directory_store_named_local()
    {
        var objects = Parse("services: {}").Settings.Objects;
        Assert.Equal("local", objects.Default);
        var local = Assert.Single(objects.Stores);
        Assert.Equal(("local", "directory", ".autonomic/objects"), (local.Key, local.Value.Type, local.Value.Path));
        Assert.Equal(5L * 1024 * 1024 * 1024, objects.MaxUploadBytes);
    }

    [Fact]
    public void Named_directory_and_s3_stores_are_read()
    {
        var objects = Parse("""
            control_plane:
              objects:
                default: s3
                max_upload: 1Gi
                stores:
                  local: { type: directory, path: data/objects }
                  s3: { type: s3, url: http://127.0.0.1:4568, bucket: uploads, region: eu-west-1, access_key_env: S3_KEY, secret_key_env: S3_SECRET, part_size: 16Mi, create_bucket: false }
            services: {}
            """).Settings.Objects;
        Assert.Equal("s3", objects.Default);
        Assert.Equal(1L << 30, objects.MaxUploadBytes);
        Assert.Equal("data/objects", objects.Stores["local"].Path);
        var s3 = objects.Stores["s3"];
        Assert.Equal(("s3", "http://127.0.0.1:4568", "uploads", "eu-west-1", "S3_KEY", "S3_SECRET", 16L << 20, false, true),
            (s3.Type, s3.Url, s3.Bucket, s3.Region, s3.AccessKeyEnv, s3.SecretKeyEnv, s3.PartSize, s3.CreateBucket, s3.ForcePathStyle));
    }

    [Fact]
    public void A_single_store_is_the_default()
    {
        var objects = Parse("control_plane: { objects: { stores: { media: { type: directory, path: m } } } }\nservices: {}").Settings.Objects;
        Assert.Equal("media", objects.Default);
    }

    [Theory]
    [InlineData("      x: { type: s4, bucket: b }", 5, "control_plane.objects.stores.x.type", "unknown object store type \"s4\"; did you mean \"s3\"?")]
    [InlineData("      x: { type: s3 }", 5, "control_plane.objects.stores.x.bucket", "missing; an s3 store needs bucket: NAME")]
    [InlineData("      x: { type: directory }", 5, "control_plane.objects.stores.x.path", "missing; a directory store needs path: DIR")]
    [InlineData("      x: { type: directory, path: p, bucket: b }", 5, "control_plane.objects.stores.x.bucket", "bucket applies to s3 stores only")]
    [InlineData("      x: { type: s3, bucket: b, url: ftp://host }", 5, "control_plane.objects.stores.x.url", "expected an http URL")]
    [InlineData("      x: { type: s3, bucket: Bad_Bucket }", 5, "control_plane.objects.stores.x.bucket", "expected an S3 bucket name")]
    [InlineData("      x: { type: s3, bucket: b3b, part_size: 1Mi }", 5, "control_plane.objects.stores.x.part_size", "from 5Mi")]
    [InlineData("      x: { type: s3, bucket: b3b, access_key_env: AKIA-SECRET }", 5, "control_plane.objects.stores.x.access_key_env", "never the key itself")]
    [InlineData("      x: { type: directory, path: p, colour: red }", 5, "control_plane.objects.stores.x.colour", "unknown key \"colour\"")]
    [InlineData("      Bad: { type: directory, path: p }", 5, "control_plane.objects.stores.Bad", "lowercase letters")]
    public void Invalid_stores_are_refused_with_line_and_field(string storeLine, int line, string field, string reason)
    {
        var e = Refused($"""
            services: {"{}"}
            control_plane:
              objects:
                stores:
            {storeLine}
            """);
        Assert.Equal(line, e.Line);
        Assert.Equal(field, e.Field);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"fleet.yaml:{line}:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_default_that_names_no_store_is_refused_at_its_line()
    {
        var e = Refused("""
            services: {}
            control_plane:
              objects:
                default: locl
                stores:
                  local: { type: directory, path: p }
                  other: { type: directory, path: q }
            """);
        Assert.Equal((4, "control_plane.objects.default"), (e.Line, e.Field));
        Assert.Contains("did you mean \"local\"?", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_registry_is_built_from_the_settings_with_credentials_from_the_environment()
    {
        string root = Path.Combine(Path.GetTempPath(), "autonomic-objects-fleet-" + Guid.NewGuid().ToString("N"));
        var settings = new ObjectsSettings
        {
            Default = "local",
            Stores = new Dictionary<string, ObjectStoreSpec>
            {
                ["local"] = new() { Path = root },
                ["remote"] = new() { Type = ObjectStoreTypes.S3, Url = "http://127.0.0.1:1", Bucket = "b3b", AccessKeyEnv = "K", SecretKeyEnv = "S" },
            },
        };
        var asked = new List<string>();
        await using var stores = ObjectStoreFactory.Create(settings, name => { asked.Add(name); return "value-of-" + name; }, TimeProvider.System, NullLoggerFactory.Instance);
        Assert.Equal(["local", "remote"], stores.Names);
        Assert.Equal(("directory", "s3"), (stores.Get("local")!.Kind, stores.Get("remote")!.Kind));
        Assert.Equal(["K", "S"], asked);
        Assert.True(Directory.Exists(Path.Combine(root, "objects")));
        Directory.Delete(root, recursive: true);
    }
}
