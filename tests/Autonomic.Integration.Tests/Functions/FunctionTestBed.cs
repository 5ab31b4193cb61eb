using Autonomic.Backends.Store;
using Autonomic.Backends.Functions;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Functions;

/// <summary>A real function service over temporary package, log and worker directories.</summary>
internal sealed class FunctionTestBed : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private FunctionTestBed(string root, FunctionsOptions options)
    {
        Root = root;
        Options = options;
        Store = new InMemoryDocumentStore(TimeProvider.System);
        Service = new FunctionService(Store, options, TimeProvider.System);
    }

    public string Root { get; }
    public FunctionsOptions Options { get; }
    public InMemoryDocumentStore Store { get; }
    public FunctionService Service { get; }
    public string TempRoot => Options.TempRoot!;

    public static FunctionTestBed Create(Func<FunctionsOptions, FunctionsOptions>? configure = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "autonomic-fn-test-" + Guid.NewGuid().ToString("N"));
        var options = new FunctionsOptions
        {
            Directory = Path.Combine(root, "functions"),
            LogDirectory = Path.Combine(root, "logs"),
            TempRoot = Path.Combine(root, "tmp"),
        };
        return new FunctionTestBed(root, configure is null ? options : configure(options));
    }

    /// <summary>The repository's examples/functions directory.</summary>
    public static string Examples
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Autonomic.sln")))
                {
                    return Path.Combine(dir.FullName, "examples", "functions");
                }
            }

            throw new InvalidOperationException("no Autonomic.sln above the test directory");
        }
    }

    public Task<FunctionVersionInfo> DeployCSharpAsync(string name, string source, int? timeoutMs = null, int? memoryMb = null, int? maxWorkers = null, int? minIdle = null) =>
        Service.DeployAsync(new FunctionDeployment
        {
            Name = name,
            Kind = FunctionKinds.CSharp,
            Source = source,
            TimeoutMs = timeoutMs,
            MemoryMb = memoryMb,
            MaxWorkers = maxWorkers,
            MinIdle = minIdle,
        });

    public Task<FunctionVersionInfo> DeployPythonAsync(string name, string script, int? timeoutMs = null, int? memoryMb = null, int? maxWorkers = null, IReadOnlyDictionary<string, string>? env = null) =>
        Service.DeployAsync(new FunctionDeployment
        {
            Name = name,
            Kind = FunctionKinds.Exec,
            Source = script,
            FileName = "handler.py",
            TimeoutMs = timeoutMs,
            MemoryMb = memoryMb,
            MaxWorkers = maxWorkers,
            Env = env,
        });

    /// <summary>A Python line-protocol loop around <paramref name="body"/>, which sets <c>response</c> from <c>event</c>.</summary>
    public static string PythonHandler(string body) => $$"""
        #!/usr/bin/env python3
        import json, os, sys, time
        for line in sys.stdin:
            request = json.loads(line)
            event = request.get("event")
        {{string.Join('\n', body.Split('\n').Select(l => "    " + l))}}
            sys.stdout.write(json.dumps({"id": request["id"], "response": response}) + "\n")
            sys.stdout.flush()
        """;

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A worker's leftovers; the temp directory is cleaned by the system.
        }
    }
}
