using Autonomic.Agents.Security.Sources;

namespace Autonomic.Integration.Tests.Security;

public sealed class LogTailerTests
{
    private static string NewLog() => Path.Combine(Directory.CreateTempSubdirectory("autonomic-tail-").FullName, "app.log");

    private static void Append(string path, params string[] lines) => File.AppendAllText(path, string.Concat(lines.Select(l => l + "\n")));

    [Fact]
    public void StartsAtTheEndOrTheBeginning_AndWaitsForWholeLines()
    {
        var path = NewLog();
        Append(path, "old 1", "old 2");
        using var fromEnd = new LogTailer(path, fromStart: false);
        using var fromStart = new LogTailer(path, fromStart: true);

        Assert.Empty(fromEnd.Poll());
        Assert.Equal(["old 1", "old 2"], fromStart.Poll());

        File.AppendAllText(path, "new 1\npart");
        Assert.Equal(["new 1"], fromEnd.Poll());
        File.AppendAllText(path, "ial\r\n");
        Assert.Equal(["partial"], fromEnd.Poll());
    }

    [Fact]
    public void FollowsRenameAndCreate_WithoutLosingOrDuplicatingLines()
    {
        var path = NewLog();
        var seen = new List<string>();
        using var tailer = new LogTailer(path, fromStart: true);
        Assert.Empty(tailer.Poll()); // not there yet

        Append(path, "a1", "a2");
        seen.AddRange(tailer.Poll());
        Append(path, "a3");
        File.AppendAllText(path, "a4-unterminated");
        File.Move(path, path + ".1");        // logrotate's rename ...
        Append(path + ".1", "");            // ... the writer still had the old file open and finished its line
        seen.AddRange(tailer.Poll());        // the new file is not created yet
        Append(path, "b1", "b2");            // ... create
        seen.AddRange(tailer.Poll());
        Append(path, "b3");
        seen.AddRange(tailer.Poll());

        Assert.Equal(["a1", "a2", "a3", "a4-unterminated", "b1", "b2", "b3"], seen);
    }

    [Fact]
    public void FollowsCopyTruncate_ReadingTheLinesThatWentToTheCopy()
    {
        var path = NewLog();
        var seen = new List<string>();
        using var tailer = new LogTailer(path, fromStart: true);
        Append(path, "a1", "a2");
        seen.AddRange(tailer.Poll());
        Append(path, "a3", "a4");
        File.Copy(path, path + ".1");                    // copytruncate: copy ...
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            f.SetLength(0);                                // ... then truncate in place (same inode)
        }

        Append(path, "b1");
        seen.AddRange(tailer.Poll());
        Append(path, "b2", "b3");
        seen.AddRange(tailer.Poll());

        Assert.Equal(["a1", "a2", "a3", "a4", "b1", "b2", "b3"], seen);
    }
}
