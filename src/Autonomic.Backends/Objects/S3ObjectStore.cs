using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Backends.Objects;

/// <summary>
/// Where an <see cref="S3ObjectStore"/> keeps its objects. A class rather than a record so that no generated
/// <c>ToString</c> ever prints the secret.
/// </summary>
public sealed class S3ObjectStoreOptions
{
    /// <summary>S3-compatible server (MinIO, LocalStack, s3rver), e.g. <c>http://127.0.0.1:9000</c>; null for AWS itself.</summary>
    public Uri? ServiceUrl { get; init; }
    public required string Bucket { get; init; }
    public string Region { get; init; } = "us-east-1";
    /// <summary>With <see cref="SecretKey"/>; both null: the SDK's default credential chain.</summary>
    public string? AccessKey { get; init; }
    public string? SecretKey { get; init; }
    /// <summary>Path-style addressing (<c>URL/bucket/key</c>); S3-compatible servers on an IP address need it.</summary>
    public bool ForcePathStyle { get; init; } = true;
    /// <summary>Create the bucket on first use when it is missing.</summary>
    public bool CreateBucket { get; init; } = true;
    /// <summary>Multipart part size; objects smaller than one part are sent in one request.</summary>
    public long PartSize { get; init; } = 8 * 1024 * 1024;
    /// <summary>
    /// The server lists keys in some other order than S3's (s3rver walks its directories): list the whole prefix
    /// and sort it here. S3, MinIO and LocalStack list in key order and need not.
    /// </summary>
    public bool SortListings { get; init; }
}

/// <summary>
/// Objects in an S3 bucket (AWS, MinIO, LocalStack, s3rver) through AWSSDK.S3. Content is streamed in parts of
/// <see cref="S3ObjectStoreOptions.PartSize"/> (two part buffers per upload, never the whole object), hashed with
/// SHA-256 on the way, and the digest is stored as user metadata <c>x-amz-meta-sha256</c>. An object becomes
/// visible whole or not at all (S3 shows a multipart upload only when it is completed), always with its digest:
/// <list type="bullet">
/// <item>smaller than a part: one PutObject after the digest is known;</item>
/// <item>larger, with an expected digest: a multipart upload carrying it, completed only if the content matches;</item>
/// <item>larger, without one: a multipart upload to a staging key under <see cref="ObjectKeys.ReservedPrefix"/>,
/// then a server-side copy onto the key with the digest in its metadata (S3 copies at most 5 GiB this way).</item>
/// </list>
/// Reads hash the content again and fail at the end of a stream whose digest differs from the metadata.
/// </summary>
public sealed partial class S3ObjectStore : IObjectStore, IDisposable
{
    /// <summary>The user metadata name of the digest (sent as <c>x-amz-meta-sha256</c>).</summary>
    public const string Sha256Metadata = "sha256";

    private const long MinPartSize = 5 * 1024 * 1024;
    private const int HeadConcurrency = 8;

    private readonly AmazonS3Client _client;
    private readonly S3ObjectStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _bucketGate = new(1, 1);
    private bool _bucketReady;

    public S3ObjectStore(S3ObjectStoreOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Bucket);
        if (options.PartSize < MinPartSize || options.PartSize > int.MaxValue)
        {
            throw new ArgumentException($"the part size must be from 5 MiB (S3's minimum) to 2 GiB, not {options.PartSize}", nameof(options));
        }

        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            // SDK v4 adds CRC32 checksums to every upload by default, sent as aws-chunked trailers. S3-compatible
            // servers such as s3rver 3.7 do not decode aws-chunked bodies and would store the chunk framing as
            // content; we verify with our own SHA-256 instead, so checksums are sent only where S3 requires them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromMinutes(5),
        };
        if (options.ServiceUrl is { } url)
        {
            config.ServiceURL = url.ToString();
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        _client = options.AccessKey is { Length: > 0 } access && options.SecretKey is { Length: > 0 } secret
            ? new AmazonS3Client(new BasicAWSCredentials(access, secret), config)
            : new AmazonS3Client(config);
        _client.BeforeRequestEvent += LiteralSlashesInCopySource;
    }

    /// <summary>
    /// The SDK sends <c>x-amz-copy-source</c> with '/' encoded as %2F; S3 accepts '/' as is, and s3rver only that
    /// (it decodes the header with JavaScript's decodeURI, which keeps %2F). Runs before signing.
    /// </summary>
    private static void LiteralSlashesInCopySource(object sender, RequestEventArgs e)
    {
        if (e is WebServiceRequestEventArgs { Headers: { } headers } && headers.TryGetValue(CopySourceHeader, out string? source))
        {
            headers[CopySourceHeader] = source.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        }
    }

    private const string CopySourceHeader = "x-amz-copy-source";

    public string Kind => "s3";

    /// <summary>The bucket.</summary>
    public string Bucket => _options.Bucket;

    public async Task<ObjectInfo> PutAsync(string key, Stream content, string? contentType = null, string? expectedSha256 = null, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        string type = ObjectKeys.ContentType(contentType);
        string? expected = Sha256Hex.Normalize(expectedSha256);
        await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);

        int partSize = (int)_options.PartSize;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] current = ArrayPool<byte>.Shared.Rent(partSize);
        byte[]? next = null;
        try
        {
            int length = await FillAsync(content, current, partSize, cancellationToken).ConfigureAwait(false);
            hash.AppendData(current, 0, length);
            if (length < partSize)
            {
                string sha = Convert.ToHexStringLower(hash.GetHashAndReset());
                CheckExpected(sha, expected);
                using var body = new MemoryStream(current, 0, length, writable: false);
                var request = new PutObjectRequest
                {
                    BucketName = Bucket,
                    Key = key,
                    InputStream = body,
                    AutoCloseStream = false,
                    ContentType = type,
                    // A plain signed body: s3rver does not take the streaming (aws-chunked) signature.
                    UseChunkEncoding = false,
                };
                request.Metadata[Sha256Metadata] = sha;
                await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
                return new ObjectInfo(key, length, sha, type, _time.GetUtcNow());
            }

            next = ArrayPool<byte>.Shared.Rent(partSize);
            return await PutMultipartAsync(key, content, type, expected, hash, current, next, length, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            if (next is not null)
            {
                ArrayPool<byte>.Shared.Return(next);
            }
        }
    }

    private async Task<ObjectInfo> PutMultipartAsync(
        string key, Stream content, string type, string? expected, IncrementalHash hash, byte[] current, byte[] next, int length, CancellationToken cancellationToken)
    {
        int partSize = (int)_options.PartSize;
        // With the digest known up front it goes on the upload itself; otherwise on a copy once it is known.
        string target = expected is null ? ObjectKeys.ReservedPrefix + Guid.NewGuid().ToString("N") : key;
        var initiate = new InitiateMultipartUploadRequest { BucketName = Bucket, Key = target, ContentType = type };
        if (expected is not null)
        {
            initiate.Metadata[Sha256Metadata] = expected;
        }

        string uploadId = (await _client.InitiateMultipartUploadAsync(initiate, cancellationToken).ConfigureAwait(false)).UploadId;
        var parts = new List<PartETag>();
        long size = 0;
        bool completed = false;
        Task<UploadPartResponse>? inFlight = null;
        try
        {
            for (int partNumber = 1; ; partNumber++)
            {
                // Upload this part while the next one is read: the request body and the network overlap.
                inFlight = UploadPartAsync(target, uploadId, partNumber, current, length, cancellationToken);
                int nextLength = await FillAsync(content, next, partSize, cancellationToken).ConfigureAwait(false);
                hash.AppendData(next, 0, nextLength);
                UploadPartResponse uploaded = await inFlight.ConfigureAwait(false);
                inFlight = null;
                parts.Add(new PartETag(partNumber, uploaded.ETag));
                size += length;
                if (nextLength == 0)
                {
                    break;
                }

                (current, next, length) = (next, current, nextLength);
            }

            string sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            CheckExpected(sha, expected);
            await _client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = Bucket, Key = target, UploadId = uploadId, PartETags = parts },
                cancellationToken).ConfigureAwait(false);
            completed = true;
            if (target != key)
            {
                var copy = new CopyObjectRequest
                {
                    SourceBucket = Bucket,
                    SourceKey = target,
                    DestinationBucket = Bucket,
                    DestinationKey = key,
                    MetadataDirective = S3MetadataDirective.REPLACE,
                    ContentType = type,
                };
                copy.Metadata[Sha256Metadata] = sha;
                await _client.CopyObjectAsync(copy, cancellationToken).ConfigureAwait(false);
                await DeleteQuietlyAsync(target).ConfigureAwait(false);
            }

            return new ObjectInfo(key, size, sha, type, _time.GetUtcNow());
        }
        catch
        {
            if (inFlight is not null)
            {
                try
                {
                    await inFlight.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The upload is abandoned below either way.
                }
            }

            if (completed)
            {
                if (target != key)
                {
                    await DeleteQuietlyAsync(target).ConfigureAwait(false);
                }
            }
            else
            {
                await AbortQuietlyAsync(target, uploadId).ConfigureAwait(false);
            }

            throw;
        }
    }

    private Task<UploadPartResponse> UploadPartAsync(string key, string uploadId, int partNumber, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var body = new MemoryStream(buffer, 0, length, writable: false);
        return _client.UploadPartAsync(new UploadPartRequest
        {
            BucketName = Bucket,
            Key = key,
            UploadId = uploadId,
            PartNumber = partNumber,
            PartSize = length,
            InputStream = body,
            UseChunkEncoding = false,
        }, cancellationToken);
    }

    public async Task<(ObjectInfo Info, Stream Content)?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        GetObjectResponse response;
        try
        {
            response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (IsMissing(e))
        {
            return null;
        }

        var info = new ObjectInfo(key, response.ContentLength, Digest(response.Metadata), response.Headers.ContentType ?? "application/octet-stream", Time(response.LastModified));
        // Objects written by other tools have no digest to check against.
        Stream content = info.Sha256.Length == 0 ? response.ResponseStream : new VerifyingReadStream(response.ResponseStream, info);
        return (info, new OwningStream(content, response));
    }

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        return await HeadOrNullAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ObjectInfo>> ListAsync(string prefix, int limit, CancellationToken cancellationToken = default)
    {
        ObjectKeys.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var keys = new List<string>();
        string? token = null;
        try
        {
            do
            {
                var page = await _client.ListObjectsV2Async(new ListObjectsV2Request
                {
                    BucketName = Bucket,
                    Prefix = prefix.Length == 0 ? null : prefix,
                    MaxKeys = _options.SortListings ? 1000 : Math.Min(1000, limit - keys.Count),
                    ContinuationToken = token,
                }, cancellationToken).ConfigureAwait(false);
                keys.AddRange((page.S3Objects ?? []).Select(o => o.Key).Where(k => !k.StartsWith(ObjectKeys.ReservedPrefix, StringComparison.Ordinal)));
                token = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (token is not null && (keys.Count < limit || _options.SortListings));

            if (_options.SortListings)
            {
                keys.Sort(ObjectKeys.Order);
            }
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket")
        {
            return [];
        }

        // The listing has no user metadata, so each object's digest takes a HEAD (a few at a time).
        var infos = new ObjectInfo?[Math.Min(limit, keys.Count)];
        await Parallel.ForAsync(0, infos.Length, new ParallelOptions { MaxDegreeOfParallelism = HeadConcurrency, CancellationToken = cancellationToken }, async (i, ct) =>
            infos[i] = await HeadOrNullAsync(keys[i], ct).ConfigureAwait(false)).ConfigureAwait(false);
        return infos.OfType<ObjectInfo>().ToList();
    }

    public async Task<ObjectInfo?> CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(sourceKey, nameof(sourceKey));
        ObjectKeys.Validate(destinationKey, nameof(destinationKey));
        try
        {
            await _client.CopyObjectAsync(new CopyObjectRequest
            {
                SourceBucket = Bucket,
                SourceKey = sourceKey,
                DestinationBucket = Bucket,
                DestinationKey = destinationKey,
                MetadataDirective = S3MetadataDirective.COPY,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (IsMissing(e))
        {
            return null;
        }

        return await HeadOrNullAsync(destinationKey, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        // S3's DELETE succeeds whether or not the key exists; the HEAD tells which it was.
        if (await HeadOrNullAsync(key, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public void Dispose()
    {
        _client.Dispose();
        _bucketGate.Dispose();
    }

    private async Task<ObjectInfo?> HeadOrNullAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return new ObjectInfo(key, head.ContentLength, Digest(head.Metadata), head.Headers.ContentType ?? "application/octet-stream", Time(head.LastModified));
        }
        catch (AmazonS3Exception e) when (IsMissing(e))
        {
            return null;
        }
    }

    private async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketReady || !_options.CreateBucket)
        {
            return;
        }

        await _bucketGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_bucketReady)
            {
                return;
            }

            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = Bucket }, cancellationToken).ConfigureAwait(false);
                LogBucketCreated(_logger, Bucket);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
                // There already: fine.
            }

            _bucketReady = true;
        }
        finally
        {
            _bucketGate.Release();
        }
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        try
        {
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = key, UploadId = uploadId }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
        {
            // Parts of an abandoned upload are never visible as an object; a bucket lifecycle rule reclaims them.
            LogAbortFailed(_logger, Bucket, key, e.Message);
        }
    }

    private async Task DeleteQuietlyAsync(string key)
    {
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
        {
            LogStagingLeft(_logger, Bucket, key, e.Message);
        }
    }

    private static async Task<int> FillAsync(Stream source, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        int filled = 0;
        while (filled < count)
        {
            int read = await source.ReadAsync(buffer.AsMemory(filled, count - filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private static void CheckExpected(string sha, string? expected)
    {
        if (expected is not null && sha != expected)
        {
            throw new InvalidDataException($"the content's SHA-256 is {sha}, not the expected {expected}; nothing was stored");
        }
    }

    private static string Digest(MetadataCollection metadata) =>
        metadata[Sha256Metadata] is { Length: 64 } sha ? sha.ToLowerInvariant() : "";

    private static DateTimeOffset Time(DateTime? t) =>
        t is { } v ? new DateTimeOffset(v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : DateTime.SpecifyKind(v, DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch;

    private static bool IsMissing(AmazonS3Exception e) =>
        e.StatusCode == HttpStatusCode.NotFound || e.ErrorCode is "NoSuchKey" or "NotFound";

    [LoggerMessage(Level = LogLevel.Information, Message = "Created bucket {Bucket}")]
    private static partial void LogBucketCreated(ILogger logger, string bucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not abort the multipart upload of {Key} in {Bucket}: {Reason}")]
    private static partial void LogAbortFailed(ILogger logger, string bucket, string key, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove staging object {Key} in {Bucket}: {Reason}")]
    private static partial void LogStagingLeft(ILogger logger, string bucket, string key, string reason);

    /// <summary>A stream that also disposes the response it came from.</summary>
    private sealed class OwningStream(Stream inner, IDisposable owner) : PassThroughReadStream(inner)
    {
        public override long Position
        {
            get => Inner.Position;
            set => throw new NotSupportedException();
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                owner.Dispose();
            }
        }
    }
}
