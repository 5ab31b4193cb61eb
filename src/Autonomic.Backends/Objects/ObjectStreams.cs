using System.Security.Cryptography;
using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Objects;

/// <summary>SHA-256 digests as the stores record them: 64 lowercase hex digits.</summary>
public static class Sha256Hex
{
    /// <summary>Lower-cases a given digest; throws <see cref="ArgumentException"/> unless it is 64 hex digits; null stays null.</summary>
    public static string? Normalize(string? sha256)
    {
        if (sha256 is null)
        {
            return null;
        }

        string s = sha256.Trim().ToLowerInvariant();
        return s.Length == 64 && s.All(char.IsAsciiHexDigit)
            ? s
            : throw new ArgumentException($"a SHA-256 is 64 hex digits, not '{(sha256.Length > 80 ? sha256[..80] + "..." : sha256)}'", nameof(sha256));
    }
}

/// <summary>A read-only window of <paramref name="length"/> bytes from <paramref name="offset"/> of a file; owns the file.</summary>
internal sealed class SliceReadStream(FileStream file, long offset, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
        if (n == 0)
        {
            return 0;
        }

        file.Position = offset + _position;
        int read = file.Read(buffer[..n]);
        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
        if (n == 0)
        {
            return 0;
        }

        file.Position = offset + _position;
        int read = await file.ReadAsync(buffer[..n], cancellationToken).ConfigureAwait(false);
        _position += read;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            file.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Passes an object's content through while hashing it, and fails the read that reaches the end when the content
/// is not what its metadata says (a torn or corrupted object), so a damaged object is never delivered as whole.
/// </summary>
internal sealed class VerifyingReadStream(Stream inner, ObjectInfo info) : PassThroughReadStream(inner)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _checked;

    public override long Length => info.Size;

    protected override void OnRead(ReadOnlySpan<byte> data)
    {
        if (data.Length > 0)
        {
            _hash.AppendData(data);
            if (BytesRead > info.Size)
            {
                throw new InvalidDataException($"object '{info.Key}' has more content than its recorded {info.Size} bytes");
            }

            return;
        }

        if (!_checked)
        {
            _checked = true;
            string sha = Convert.ToHexStringLower(_hash.GetHashAndReset());
            if (BytesRead != info.Size || sha != info.Sha256)
            {
                throw new InvalidDataException($"object '{info.Key}' changed or was damaged while being read ({BytesRead} of {info.Size} bytes, SHA-256 {sha} instead of {info.Sha256})");
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }
}
