using System.Runtime.InteropServices;
using System.Text;

namespace Autonomic.Agents.Security.Sources;

/// <summary>
/// Follows a growing log file like <c>tail -F</c>, across rotation. Each <see cref="Poll"/> returns the complete lines
/// written since the last one. Rotation is recognised by the file's identity (device and inode): when the path names
/// a new file (rename + create), the rest of the old file is read first and then the new one from its start; when the
/// same file shrinks below the position read (copytruncate), the lines written between the last poll and the
/// truncation are read from the copy (<c>PATH.1</c>) if it is there, and the file is then read from its start.
/// Not thread-safe: one caller polls.
/// </summary>
public sealed class LogTailer : IDisposable
{
    private readonly string _path;
    private readonly bool _fromStart;
    private FileStream? _stream;
    private (ulong Dev, ulong Ino) _id;
    private long _offset;
    private bool _openedOnce;
    private readonly List<byte> _partial = [];
    private readonly byte[] _buffer = new byte[64 * 1024];

    /// <param name="path">The log file; it may not exist yet.</param>
    /// <param name="fromStart">Read what the file already holds; otherwise start at its end (new lines only).</param>
    public LogTailer(string path, bool fromStart)
    {
        _path = path;
        _fromStart = fromStart;
    }

    public string Path => _path;

    /// <summary>The lines completed since the last poll, in order.</summary>
    public IReadOnlyList<string> Poll()
    {
        var lines = new List<string>();
        if (_stream is null && !TryOpen(lines, atStart: _openedOnce || _fromStart))
        {
            return lines;
        }

        ReadAvailable(lines);
        if (!TryStat(_path, out var current))
        {
            // Renamed away and not created again yet: what the old file held has been read; keep it open.
            return lines;
        }

        if (current.Id != _id)
        {
            // rename + create: the old file is complete, its unterminated tail included.
            ReadAvailable(lines);
            FlushPartial(lines);
            _stream!.Dispose();
            _stream = null;
            TryOpen(lines, atStart: true);
            if (_stream is not null)
            {
                ReadAvailable(lines);
            }
        }
        else if (current.Size < _offset)
        {
            // copytruncate: the lines written after our last read went to the copy before the truncation.
            ReadFromCopy(lines);
            _partial.Clear();
            _offset = 0;
            _stream!.Seek(0, SeekOrigin.Begin);
            ReadAvailable(lines);
        }

        return lines;
    }

    private bool TryOpen(List<string> lines, bool atStart)
    {
        try
        {
            var stream = new FileStream(_path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.SequentialScan,
            });
            if (!TryStatFd(stream, out var stat))
            {
                stream.Dispose();
                return false;
            }

            _stream = stream;
            _id = stat.Id;
            _offset = atStart ? 0 : stream.Length;
            stream.Seek(_offset, SeekOrigin.Begin);
            _openedOnce = true;
            _ = lines;
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }

    private void ReadAvailable(List<string> lines)
    {
        var stream = _stream!;
        int n;
        while ((n = stream.Read(_buffer, 0, _buffer.Length)) > 0)
        {
            _offset += n;
            Split(_buffer.AsSpan(0, n), lines);
        }
    }

    private void Split(ReadOnlySpan<byte> data, List<string> lines)
    {
        while (true)
        {
            int nl = data.IndexOf((byte)'\n');
            if (nl < 0)
            {
                _partial.AddRange(data);
                return;
            }

            var piece = data[..nl];
            string line;
            if (_partial.Count > 0)
            {
                _partial.AddRange(piece);
                line = Decode(CollectionsMarshal.AsSpan(_partial));
                _partial.Clear();
            }
            else
            {
                line = Decode(piece);
            }

            lines.Add(line);
            data = data[(nl + 1)..];
        }
    }

    private static string Decode(ReadOnlySpan<byte> bytes) =>
        Encoding.UTF8.GetString(bytes.Length > 0 && bytes[^1] == '\r' ? bytes[..^1] : bytes);

    private void FlushPartial(List<string> lines)
    {
        if (_partial.Count > 0)
        {
            lines.Add(Decode(CollectionsMarshal.AsSpan(_partial)));
            _partial.Clear();
        }
    }

    private void ReadFromCopy(List<string> lines)
    {
        var copy = _path + ".1";
        try
        {
            using var stream = new FileStream(copy, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length <= _offset)
            {
                return;
            }

            stream.Seek(_offset, SeekOrigin.Begin);
            int n;
            while ((n = stream.Read(_buffer, 0, _buffer.Length)) > 0)
            {
                Split(_buffer.AsSpan(0, n), lines);
            }

            FlushPartial(lines);
        }
        catch (Exception e) when (e is FileNotFoundException or IOException or UnauthorizedAccessException)
        {
            // No copy to read: those lines went with it.
        }
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
    }

    private readonly record struct StatInfo((ulong Dev, ulong Ino) Id, long Size);

    // struct stat starts with st_dev and st_ino (8 bytes each) on x86_64 and aarch64 Linux; st_size is at 48.
    private const int InoOffset = 8;
    private static int SizeOffset => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 48 : 48;

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int StatNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [Out] byte[] buf);

    [DllImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static extern int FStatNative(int fd, [Out] byte[] buf);

    private static StatInfo Read(byte[] buf) => new(
        (BitConverter.ToUInt64(buf, 0), BitConverter.ToUInt64(buf, InoOffset)),
        BitConverter.ToInt64(buf, SizeOffset));

    private static bool TryStat(string path, out StatInfo info)
    {
        var buf = new byte[256];
        if (StatNative(path, buf) != 0)
        {
            info = default;
            return false;
        }

        info = Read(buf);
        return true;
    }

    private static bool TryStatFd(FileStream stream, out StatInfo info)
    {
        var buf = new byte[256];
        bool added = false;
        var handle = stream.SafeFileHandle;
        try
        {
            handle.DangerousAddRef(ref added);
            if (FStatNative((int)handle.DangerousGetHandle(), buf) != 0)
            {
                info = default;
                return false;
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        info = Read(buf);
        return true;
    }
}
