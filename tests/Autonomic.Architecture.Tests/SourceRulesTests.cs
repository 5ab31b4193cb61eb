using System.Text.RegularExpressions;

namespace Autonomic.Architecture.Tests;

/// <summary>Rules on the source text of src/.</summary>
public sealed partial class SourceRulesTests
{
    [GeneratedRegex(@"\bDateTime(Offset)?\s*\.\s*(Utc)?Now\b")]
    private static partial Regex WallClock();

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex Comments();

    /// <summary>Wall-clock reads in C# text, ignoring comments.</summary>
    private static IEnumerable<string> WallClockCalls(string code) =>
        WallClock().Matches(Comments().Replace(code, " ")).Select(m => m.Value);

    [Fact]
    public void NoSourceFile_ReadsTheWallClock_TimeComesFromTimeProvider()
    {
        var offenders = RepoLayout.SourceFiles()
            .SelectMany(f => WallClockCalls(File.ReadAllText(f)).Select(call => $"{Path.GetRelativePath(RepoLayout.Root, f)}: {call}"))
            .ToArray();

        Assert.Empty(offenders);
    }

    [Fact]
    public void SourceScan_SeesTheCoreSources()
    {
        Assert.Contains(RepoLayout.SourceFiles(), f => f.EndsWith("InstanceLifecycle.cs", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("var t = DateTime.Now;", 1)]
    [InlineData("var t = System.DateTime.UtcNow;", 1)]
    [InlineData("var t = DateTimeOffset.UtcNow; var u = DateTimeOffset.Now;", 2)]
    [InlineData("var t = DateTime . UtcNow;", 1)]
    [InlineData("var t = time.GetUtcNow();", 0)]
    [InlineData("// DateTime.UtcNow is banned\nvar t = 1;", 0)]
    [InlineData("/* not DateTime.Now */ var t = DateTime.Today;", 0)]
    [InlineData("var t = DateTime.UtcNowish;", 0)]
    public void WallClockScan_FindsCallsOutsideComments(string code, int expected)
    {
        Assert.Equal(expected, WallClockCalls(code).Count());
    }
}
