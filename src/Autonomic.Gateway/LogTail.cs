using System.Text;

namespace Autonomic.Gateway;

/// <summary>Reads the last lines of a file without reading the whole file (logs grow to many megabytes).</summary>
internal static class LogTail
{
    private const int BlockSize = 64 * 1024;

    /// <summary>The last <paramref name="lines"/> lines of <paramref name="path"/>; empty when the file does not exist.</summary>
    public static async Task<IReadOnlyList<string>> ReadLastLinesAsync(string path, int lines, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            // The runtime keeps appending while we read; sharing write and delete lets rotation proceed.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }

        await using (stream)
        {
            var length = stream.Length;
            var start = length;
            var newlines = 0;
            var buffer = new byte[BlockSize];
            // Walk back block by block until the suffix holds more line breaks than lines asked for
            // (one extra because the file usually ends with a line break).
            while (start > 0 && newlines <= lines)
            {
                var size = (int)Math.Min(BlockSize, start);
                start -= size;
                stream.Position = start;
                await stream.ReadExactlyAsync(buffer.AsMemory(0, size), cancellationToken);
                newlines += buffer.AsSpan(0, size).Count((byte)'\n');
            }

            stream.Position = start;
            var tail = new byte[length - start];
            await stream.ReadExactlyAsync(tail, cancellationToken);
            var all = Encoding.UTF8.GetString(tail).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
            var count = all.Length;
            if (count > 0 && all[count - 1].Length == 0)
            {
                count--;
            }

            // When the walk stopped mid-file the first piece may be a partial line: it is never among the last ones kept.
            var skip = Math.Max(0, count - lines);
            return all[skip..count];
        }
    }
}
