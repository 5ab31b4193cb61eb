using System.Diagnostics;

namespace Autonomic.Integration.Tests.Observability;

/// <summary>The repository's files and the Prometheus tools (Debian packages prometheus, prometheus-alertmanager).</summary>
internal static class Tools
{
    /// <summary>The repository root (the directory holding Autonomic.sln), found from the test binaries upwards.</summary>
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Autonomic.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Autonomic.sln) is not above the test binaries");
    }

    /// <summary>Fails with the install hint when a tool `make test` installs is missing.</summary>
    public static string Require(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            var path = Path.Combine(dir, tool);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException($"{tool} is not installed; `make deps` installs it (Debian packages prometheus and prometheus-alertmanager)");
    }

    /// <summary>Runs a tool to completion with optional stdin; returns exit code and combined output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string tool, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(Require(tool)) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Starts a long-running tool; the caller kills it.</summary>
    public static Process Start(string tool, IEnumerable<string> args, string logPath)
    {
        var info = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = false, RedirectStandardError = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >\"$LOG\" 2>&1");
        info.ArgumentList.Add(Require(tool));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["LOG"] = logPath;
        return Process.Start(info)!;
    }
}
