namespace Autonomic.Backends.Runtime;

/// <summary>
/// Size-based rotation of an instance log that a live process holds open with <c>O_APPEND</c>:
/// <c>path</c> is copied to <c>path.1</c> (older copies shift to <c>path.2</c> ... <c>path.keep</c>, the oldest is
/// dropped) and then truncated in place. Because the writer appends, its next write lands at the new end of the
/// file and no hole appears. Lines written between the copy and the truncation are lost (the copytruncate caveat).
/// </summary>
public static class LogRotator
{
    /// <summary>Rotates when <paramref name="path"/> holds at least <paramref name="maxBytes"/>; returns whether it did.</summary>
    /// <param name="path">The live log file.</param>
    /// <param name="maxBytes">Size that triggers a rotation.</param>
    /// <param name="keep">Rotated files kept; 0 only truncates.</param>
    public static bool RotateIfNeeded(string path, long maxBytes, int keep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        var info = new FileInfo(path);
        if (!info.Exists || info.Length < maxBytes)
        {
            return false;
        }

        if (keep > 0)
        {
            File.Delete($"{path}.{keep}");
            for (var i = keep - 1; i >= 1; i--)
            {
                var from = $"{path}.{i}";
                if (File.Exists(from))
                {
                    File.Move(from, $"{path}.{i + 1}", overwrite: true);
                }
            }

            File.Copy(path, $"{path}.1", overwrite: true);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.SetLength(0);
        return true;
    }
}
