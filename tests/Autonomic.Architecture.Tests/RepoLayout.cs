namespace Autonomic.Architecture.Tests;

/// <summary>Finds the repository the tests were built from.</summary>
internal static class RepoLayout
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Autonomic.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Autonomic.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => RootPath.Value;

    public static string Src => Path.Combine(Root, "src");

    /// <summary>The C# sources under src/, without build output.</summary>
    public static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(Src, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));
}
