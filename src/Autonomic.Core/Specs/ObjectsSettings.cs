namespace Autonomic.Core.Specs;

/// <summary>
/// The named object stores of the control plane (<c>control_plane.objects</c> in the fleet file). Without any,
/// there is one directory store <c>local</c> under <c>.autonomic/objects</c>.
/// </summary>
public sealed record ObjectsSettings
{
    /// <summary>The store used when a client names none.</summary>
    public string Default { get; init; } = "local";

    /// <summary>Stores by name.</summary>
    public IReadOnlyDictionary<string, ObjectStoreSpec> Stores { get; init; } =
        new Dictionary<string, ObjectStoreSpec>(StringComparer.Ordinal) { ["local"] = new() };

    /// <summary>The largest upload the API accepts, in bytes.</summary>
    public long MaxUploadBytes { get; init; } = 5L * 1024 * 1024 * 1024;

    /// <summary>Equal when the stores are (a record would compare the dictionaries by reference).</summary>
    public bool Equals(ObjectsSettings? other) =>
        other is not null && Default == other.Default && MaxUploadBytes == other.MaxUploadBytes
        && Stores.Count == other.Stores.Count
        && Stores.All(s => other.Stores.TryGetValue(s.Key, out ObjectStoreSpec? o) && s.Value == o);

    public override int GetHashCode() => HashCode.Combine(Default, MaxUploadBytes, Stores.Count);
}

/// <summary>The kinds of object store.</summary>
public static class ObjectStoreTypes
{
    public const string Directory = "directory";
    public const string S3 = "s3";

    public static readonly IReadOnlyList<string> All = [Directory, S3];
}

/// <summary>
/// One object store: a directory (<see cref="Path"/>) or an S3 bucket (<see cref="Url"/>, <see cref="Bucket"/>, ...).
/// Credentials never appear here, only the names of the environment variables that hold them.
/// </summary>
public sealed record ObjectStoreSpec
{
    /// <summary><c>directory</c> or <c>s3</c> (<see cref="ObjectStoreTypes"/>).</summary>
    public string Type { get; init; } = ObjectStoreTypes.Directory;

    /// <summary>Directory stores: where the objects live (relative paths are from the current directory).</summary>
    public string Path { get; init; } = ".autonomic/objects";

    /// <summary>S3 stores: the service URL (e.g. <c>http://127.0.0.1:9000</c> for MinIO); null means AWS itself, by <see cref="Region"/>.</summary>
    public string? Url { get; init; }

    /// <summary>S3 stores: the bucket.</summary>
    public string? Bucket { get; init; }

    /// <summary>S3 stores: the region (also the signing region for S3-compatible servers).</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>S3 stores: the environment variable holding the access key id.</summary>
    public string AccessKeyEnv { get; init; } = "AWS_ACCESS_KEY_ID";

    /// <summary>S3 stores: the environment variable holding the secret access key.</summary>
    public string SecretKeyEnv { get; init; } = "AWS_SECRET_ACCESS_KEY";

    /// <summary>S3 stores: path-style addressing (<c>URL/bucket/key</c>), which MinIO, LocalStack and s3rver need.</summary>
    public bool ForcePathStyle { get; init; } = true;

    /// <summary>S3 stores: create the bucket on first use when it does not exist.</summary>
    public bool CreateBucket { get; init; } = true;

    /// <summary>S3 stores: the part size of multipart uploads (at least 5 MiB, S3's minimum).</summary>
    public long PartSize { get; init; } = 8 * 1024 * 1024;
}
