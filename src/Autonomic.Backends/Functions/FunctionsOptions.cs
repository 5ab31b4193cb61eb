namespace Autonomic.Backends.Functions;

/// <summary>Where functions live and the defaults and bounds of their limits.</summary>
public sealed record FunctionsOptions
{
    /// <summary>Packages: <c>DIRECTORY/NAME/VERSION/</c> (source, compiled DLL or script, function.json).</summary>
    public string Directory { get; init; } = ".autonomic/functions";
    /// <summary>Per-function logs: <c>LOGDIR/fn-NAME.log</c>.</summary>
    public string LogDirectory { get; init; } = ".autonomic/logs";
    /// <summary>Parent of the workers' private temporary directories; the system temp directory when null.</summary>
    public string? TempRoot { get; init; }
    /// <summary><c>autonomic-fnhost.dll</c>; beside this assembly when null.</summary>
    public string? HostAssembly { get; init; }
    /// <summary>The <c>dotnet</c> executable that runs the function host; found from this runtime when null.</summary>
    public string? DotnetPath { get; init; }
    /// <summary>PATH of every worker unless the function declares its own.</summary>
    public string WorkerPath { get; init; } = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    public int DefaultTimeoutMs { get; init; } = 3000;
    public int DefaultMemoryMb { get; init; } = 256;
    public int DefaultMaxWorkers { get; init; } = 4;
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>How often idle workers are retired and pools pre-warmed.</summary>
    public TimeSpan ReapInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long the function host may take to load a handler.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxSourceBytes { get; init; } = 1024 * 1024;
    public int MaxLogLinesPerInvocation { get; init; } = 100;
}
