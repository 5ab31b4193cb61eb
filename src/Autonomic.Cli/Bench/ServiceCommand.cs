using System.Globalization;
using System.Text;

namespace Autonomic.Cli.Bench;

/// <summary>
/// The supervised service's command line, from a template such as <c>python3 -m http.server {port}</c>.
/// The first word is resolved on PATH because some supervisors (monit) start programs with an empty
/// environment.
/// </summary>
internal sealed record ServiceCommand(string Executable, IReadOnlyList<string> Args)
{
    public const string WorkloadTemplate = "autonomic-workload --port {port}";

    public static ServiceCommand FromTemplate(string? template, int port)
    {
        if (string.IsNullOrWhiteSpace(template) || template.Trim() == WorkloadTemplate)
        {
            return Workload(port);
        }

        var words = Tokenize(template.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        if (words.Count == 0)
        {
            throw new ArgumentException("empty --service-command");
        }

        return new ServiceCommand(ResolveOnPath(words[0]), words.Skip(1).ToList());
    }

    /// <summary>The workload beside this executable: its apphost when present, otherwise the dll under dotnet.</summary>
    public static ServiceCommand Workload(int port)
    {
        var dir = AppContext.BaseDirectory;
        var portText = port.ToString(CultureInfo.InvariantCulture);
        var apphost = Path.Combine(dir, "autonomic-workload");
        if (File.Exists(apphost))
        {
            return new ServiceCommand(apphost, ["--port", portText]);
        }

        var dll = Path.Combine(dir, "autonomic-workload.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"autonomic-workload not found in {dir}; pass --service-command", dll);
        }

        return new ServiceCommand(DotnetHost(), [dll, "--port", portText]);
    }

    public static string DotnetHost()
    {
        var fromEnv = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
        {
            return fromEnv;
        }

        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return ResolveOnPath("dotnet");
    }

    public static string ResolveOnPath(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return Path.GetFullPath(name);
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate) && !IsPyenvShim(candidate))
            {
                return candidate;
            }
        }

        return File.Exists("/usr/bin/" + name) ? "/usr/bin/" + name : name;
    }

    /// <summary>
    /// A shell script that sets the environment and then execs the service, so the pid a supervisor sees
    /// is the service's own pid. Output goes to a log file so that no supervisor's pipe can fill up.
    /// </summary>
    public string LaunchScript(int port, string workDir, string logFile)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/sh\n");
        sb.Append(CultureInfo.InvariantCulture, $"export PORT={port}\n");
        foreach (var name in new[] { "DOTNET_ROOT", "HOME", "PATH" })
        {
            var value = Environment.GetEnvironmentVariable(name);
            if (!string.IsNullOrEmpty(value))
            {
                sb.Append(CultureInfo.InvariantCulture, $"export {name}={Quote(value)}\n");
            }
        }

        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is null or "")
        {
            var host = DotnetHost();
            if (File.Exists(host))
            {
                var root = Path.GetDirectoryName(new FileInfo(host).ResolveLinkTarget(true)?.FullName ?? host);
                sb.Append(CultureInfo.InvariantCulture, $"export DOTNET_ROOT={Quote(root ?? "")}\n");
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"cd {Quote(workDir)}\n");
        sb.Append("exec ").Append(Quote(Executable));
        foreach (var a in Args)
        {
            sb.Append(' ').Append(Quote(a));
        }

        sb.Append(CultureInfo.InvariantCulture, $" >>{Quote(logFile)} 2>&1 </dev/null\n");
        return sb.ToString();
    }

    public static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static bool IsPyenvShim(string path) => path.Contains("/.pyenv/shims/", StringComparison.Ordinal);

    private static List<string> Tokenize(string text)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var inWord = false;
        foreach (var c in text)
        {
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return words;
    }
}
