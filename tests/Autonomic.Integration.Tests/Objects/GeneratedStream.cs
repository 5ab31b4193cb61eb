using System.Security.Cryptography;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>
/// A read-only, non-seekable stream of <c>length</c> deterministic pseudo-random bytes, made on the fly: large test
/// objects never exist in memory or on disk on the sending side.
/// </summary>
internal sealed class GeneratedStream(long length, int seed = 1) : Stream
{
    private const int BlockSize = 1 << 20;
    private static readonly Dictionary<int, byte[]> Blocks = [];
    private readonly byte[] _block = BlockOf(seed);
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <summary>The SHA-256 (hex) of the whole stream.</summary>
    public static string Sha256Of(long length, int seed = 1)
    {
        using var stream = new GeneratedStream(length, seed);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = (int)Math.Min(buffer.Length, length - _position);
        for (int done = 0; done < n;)
        {
            long blockIndex = _position / BlockSize;
            int inBlock = (int)(_position % BlockSize);
            int take = Math.Min(n - done, BlockSize - inBlock);
            _block.AsSpan(inBlock, take).CopyTo(buffer.Slice(done, take));
            // Every block differs from the others in its first bytes, so a misplaced block changes the digest.
            for (int i = 0; i < 8 && inBlock + i < 8 && i < take; i++)
            {
                buffer[done + i] ^= (byte)(blockIndex >> (8 * (inBlock + i)));
            }

            done += take;
            _position += take;
        }

        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private static byte[] BlockOf(int seed)
    {
        lock (Blocks)
        {
            if (!Blocks.TryGetValue(seed, out byte[]? block))
            {
                block = new byte[BlockSize];
                new Random(seed).NextBytes(block);
                Blocks[seed] = block;
            }

            return block;
        }
    }
}
