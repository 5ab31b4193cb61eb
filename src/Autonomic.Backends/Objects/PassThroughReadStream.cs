namespace Autonomic.Backends.Objects;

/// <summary>
/// A forward-only, read-only view of another stream: reads go to the inner stream and each one is shown to
/// <see cref="OnRead"/>; seeking, writing and setting the length are not supported. <see cref="Position"/> is the
/// number of bytes read through it, <see cref="Length"/> the inner stream's. Disposing it disposes the inner stream
/// unless it was made with <c>ownsInner: false</c>.
/// </summary>
public abstract class PassThroughReadStream(Stream inner, bool ownsInner = true) : Stream
{
    /// <summary>The stream read from.</summary>
    protected Stream Inner => inner;

    /// <summary>How many bytes have been read through this stream.</summary>
    protected long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Seen(inner.Read(buffer, offset, count), buffer.AsSpan(offset));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Seen(n, buffer.Span);
    }

    /// <summary>Called after every read with the bytes it gave (none at the end), once <see cref="BytesRead"/> counts them.</summary>
    protected virtual void OnRead(ReadOnlySpan<byte> data)
    {
    }

    private int Seen(int n, ReadOnlySpan<byte> buffer)
    {
        BytesRead += n;
        OnRead(buffer[..n]);
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsInner)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
