using System.Diagnostics;
using System.Text.Json;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Functions;

/// <summary>Deploys and invokes real functions: Roslyn-compiled C# in the function host, Python and bash workers.</summary>
public sealed class FunctionServiceTests : IAsyncLifetime
{
    private const string Hello = """
        public static class Handler
        {
            public static JsonNode? Handle(JsonNode? evt)
            {
                var name = evt?["name"]?.GetValue<string>() ?? "world";
                Console.Error.WriteLine($"greeting {name}");
                return new JsonObject { ["greeting"] = $"Hello, {name}!", ["pid"] = Environment.ProcessId };
            }
        }
        """;

    private const string Sleeper = """
        public static class Handler
        {
            public static async Task<JsonNode?> HandleAsync(JsonNode? evt)
            {
                var ms = evt?["sleep"]?.GetValue<int>() ?? 0;
                if (evt?["throw"] is not null)
                {
                    throw new InvalidOperationException("boom: " + evt["throw"]);
                }

                await Task.Delay(ms);
                return new JsonObject { ["slept"] = ms, ["pid"] = Environment.ProcessId };
            }
        }
        """;

    private FunctionTestBed bed = null!;

    public Task InitializeAsync()
    {
        bed = FunctionTestBed.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await bed.DisposeAsync();

    private static JsonElement Event(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private Task<InvocationResult> InvokeAsync(string name, string json = "null", int? version = null) =>
        bed.Service.InvokeAsync(name, version, Event(json));

    [Fact]
    public async Task CSharp_function_compiles_and_answers_cold_then_warm()
    {
        var info = await bed.DeployCSharpAsync("hello", Hello);
        Assert.Equal(1, info.Version);
        Assert.True(File.Exists(Path.Combine(bed.Options.Directory, "hello", "1", "handler.dll")));

        var cold = await InvokeAsync("hello", """{"name":"Ada"}""");
        var warm = await InvokeAsync("hello", """{"name":"Bob"}""");

        Assert.Equal(InvocationStatus.Succeeded, cold.Status);
        Assert.Equal("Hello, Ada!", cold.Response!.Value.GetProperty("greeting").GetString());
        Assert.True(cold.Cold);
        Assert.Equal(InvocationStatus.Succeeded, warm.Status);
        Assert.Equal("Hello, Bob!", warm.Response!.Value.GetProperty("greeting").GetString());
        Assert.False(warm.Cold);
        Assert.Equal(cold.Response.Value.GetProperty("pid").GetInt32(), warm.Response.Value.GetProperty("pid").GetInt32());
        Assert.True(warm.DurationMs < cold.DurationMs, $"warm {warm.DurationMs} ms should beat cold {cold.DurationMs} ms");
        Assert.NotNull(warm.HandlerMs);
        Assert.True(warm.HandlerMs <= warm.DurationMs);

        // stderr goes to the function's log file, stamped with version and pid.
        var log = bed.Service.LogPath("hello");
        await Eventually.WaitAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("greeting Bob", StringComparison.Ordinal), FunctionTestBed.Deadline, "the log line");
        Assert.Contains(" v1 pid=", File.ReadAllText(log), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_examples_in_python_and_bash_answer_the_line_protocol()
    {
        await bed.Service.DeployAsync(new FunctionDeployment
        {
            Name = "echo",
            Kind = FunctionKinds.Exec,
            Source = await File.ReadAllTextAsync(Path.Combine(FunctionTestBed.Examples, "echo.py")),
            FileName = "echo.py",
        });
        await bed.Service.DeployAsync(new FunctionDeployment
        {
            Name = "upper",
            Kind = FunctionKinds.Exec,
            Source = await File.ReadAllTextAsync(Path.Combine(FunctionTestBed.Examples, "upper.sh")),
            FileName = "upper.sh",
        });

        var echo = await InvokeAsync("echo", """{"a":[1,2,3]}""");
        var upper = await InvokeAsync("upper", "\"make me loud\"");
        var refused = await InvokeAsync("upper", "42");

        Assert.Equal(InvocationStatus.Succeeded, echo.Status);
        Assert.Equal(3, echo.Response!.Value.GetProperty("echo").GetProperty("a").GetArrayLength());
        Assert.NotNull(echo.HandlerMs);
        Assert.Equal(InvocationStatus.Succeeded, upper.Status);
        Assert.Equal("MAKE ME LOUD", upper.Response!.Value.GetString());
        Assert.Equal(InvocationStatus.Failed, refused.Status);
        Assert.Contains("plain JSON string", refused.Error, StringComparison.Ordinal);
        Assert.False(refused.Cold);
    }

    [Fact]
    public async Task A_new_version_becomes_the_default_and_the_old_one_stays_invocable()
    {
        await bed.DeployCSharpAsync("ver", """public static class Handler { public static JsonNode? Handle(JsonNode? e) => "one"; }""");
        var v2 = await bed.DeployCSharpAsync("ver", """public static class Handler { public static JsonNode? Handle(JsonNode? e) => "two"; }""");

        Assert.Equal(2, v2.Version);
        Assert.Equal("two", (await InvokeAsync("ver")).Response!.Value.GetString());
        var first = await InvokeAsync("ver", version: 1);
        Assert.Equal("one", first.Response!.Value.GetString());
        Assert.Equal(1, first.Version);
        Assert.Equal(InvocationStatus.NotFound, (await InvokeAsync("ver", version: 3)).Status);
        Assert.Equal(InvocationStatus.NotFound, (await InvokeAsync("nope")).Status);

        var info = await bed.Service.GetAsync("ver");
        Assert.Equal(2, info!.Latest);
        Assert.Equal([1, 2], info.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task A_compile_error_refuses_the_deploy_with_file_line_and_column()
    {
        var e = await Assert.ThrowsAsync<FunctionDeployException>(() => bed.Service.DeployAsync(new FunctionDeployment
        {
            Name = "broken",
            Kind = FunctionKinds.CSharp,
            FileName = "broken.cs",
            Source = "public static class Handler\n{\n    public static JsonNode? Handle(JsonNode? e) => undefinedThing\n}\n",
        }));

        Assert.Contains(e.Errors, line => line.StartsWith("broken.cs:3:", StringComparison.Ordinal) && line.Contains("error CS", StringComparison.Ordinal));
        Assert.Null(await bed.Service.GetAsync("broken"));

        var noHandler = await Assert.ThrowsAsync<FunctionDeployException>(() =>
            bed.DeployCSharpAsync("nohandler", "public static class Other { public static int Run() => 1; }"));
        Assert.Contains(noHandler.Errors, line => line.Contains("Handler", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Bad_Name", FunctionKinds.CSharp, "name 'Bad_Name' is invalid")]
    [InlineData("ok", "lua", "kind 'lua' is unknown")]
    [InlineData("ok", FunctionKinds.Exec, "needs a command")]
    [InlineData("ok", FunctionKinds.CSharp, "needs source")]
    public async Task A_malformed_function_is_refused_with_the_reason(string name, string kind, string expected)
    {
        var e = await Assert.ThrowsAsync<FunctionDeployException>(() =>
            bed.Service.DeployAsync(new FunctionDeployment { Name = name, Kind = kind }));

        Assert.Contains(e.Errors, line => line.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_program_is_refused_at_deploy()
    {
        var e = await Assert.ThrowsAsync<FunctionDeployException>(() => bed.Service.DeployAsync(new FunctionDeployment
        {
            Name = "ghost",
            Kind = FunctionKinds.Exec,
            Command = ["no-such-program-anywhere"],
        }));

        Assert.Contains("not on the workers' PATH", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_throwing_handler_fails_with_its_error_and_log_and_the_worker_stays_warm()
    {
        await bed.DeployCSharpAsync("thrower", Sleeper);

        var failed = await InvokeAsync("thrower", """{"throw":"on purpose"}""");
        var next = await InvokeAsync("thrower", """{"sleep":0}""");

        Assert.Equal(InvocationStatus.Failed, failed.Status);
        Assert.Equal("InvalidOperationException: boom: on purpose", failed.Error);
        Assert.Contains(failed.Logs, line => line.Contains("boom: on purpose", StringComparison.Ordinal));
        Assert.Equal(InvocationStatus.Succeeded, next.Status);
        Assert.False(next.Cold);
    }

    [Fact]
    public async Task A_timeout_kills_the_worker_and_the_next_invocation_gets_a_new_one()
    {
        await bed.DeployCSharpAsync("slow", Sleeper, timeoutMs: 1500);
        var first = await InvokeAsync("slow", """{"sleep":0}""");
        var pid = first.Response!.Value.GetProperty("pid").GetInt32();

        var watch = Stopwatch.StartNew();
        var timedOut = await InvokeAsync("slow", """{"sleep":20000}""");
        watch.Stop();
        var next = await InvokeAsync("slow", """{"sleep":0}""");

        Assert.Equal(InvocationStatus.TimedOut, timedOut.Status);
        Assert.Contains("1500 ms", timedOut.Error, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.False(Directory.Exists($"/proc/{pid}"), "the timed-out worker is killed and reaped");
        Assert.Equal(InvocationStatus.Succeeded, next.Status);
        Assert.True(next.Cold);
        Assert.NotEqual(pid, next.Response!.Value.GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task A_memory_hog_crashes_with_the_reason_and_the_pool_recovers()
    {
        // Python under RLIMIT_AS: the allocation fails, the uncaught MemoryError ends the worker.
        await bed.DeployPythonAsync("hog", FunctionTestBed.PythonHandler("""
            if event and event.get("mb"):
                hog = bytearray(event["mb"] * 1024 * 1024)
            response = "fine"
            """), memoryMb: 64);

        var crashed = await InvokeAsync("hog", """{"mb":512}""");
        var next = await InvokeAsync("hog");

        Assert.Equal(InvocationStatus.Crashed, crashed.Status);
        Assert.Contains("MemoryError", crashed.Error, StringComparison.Ordinal);
        Assert.Equal(InvocationStatus.Succeeded, next.Status);
        Assert.Equal("fine", next.Response!.Value.GetString());
    }

    [Fact]
    public async Task A_csharp_memory_hog_hits_the_managed_heap_limit_and_crashes()
    {
        await bed.DeployCSharpAsync("cshog", """
            public static class Handler
            {
                private static readonly List<byte[]> Kept = [];
                public static JsonNode? Handle(JsonNode? evt)
                {
                    var mb = evt?["mb"]?.GetValue<int>() ?? 0;
                    for (var i = 0; i < mb; i++) { var b = new byte[1024 * 1024]; b[0] = 1; Kept.Add(b); }
                    return Kept.Count;
                }
            }
            """, memoryMb: 64);

        var crashed = await InvokeAsync("cshog", """{"mb":1024}""");
        var next = await InvokeAsync("cshog", """{"mb":1}""");

        Assert.Equal(InvocationStatus.Crashed, crashed.Status);
        Assert.Contains("out of memory", crashed.Error, StringComparison.Ordinal);
        Assert.Equal(InvocationStatus.Succeeded, next.Status);
        Assert.Equal(1, next.Response!.Value.GetInt32());
    }

    [Fact]
    public async Task A_cpu_hog_over_its_cpu_seconds_is_killed_with_sigxcpu_and_replaced()
    {
        await bed.Service.DeployAsync(new FunctionDeployment
        {
            Name = "spin",
            Kind = FunctionKinds.Exec,
            Source = FunctionTestBed.PythonHandler("""
                while event and event.get("spin"):
                    pass
                response = os.getpid()
                """),
            FileName = "spin.py",
            CpuSeconds = 1,
            TimeoutMs = 20_000,
        });

        var crashed = await InvokeAsync("spin", """{"spin":true}""");
        var next = await InvokeAsync("spin");

        Assert.Equal(InvocationStatus.Crashed, crashed.Status);
        Assert.Contains("SIGXCPU", crashed.Error, StringComparison.Ordinal);
        Assert.Equal(InvocationStatus.Succeeded, next.Status);
        Assert.True(next.Cold);
    }

    [Fact]
    public async Task A_background_child_of_a_worker_dies_with_it()
    {
        await bed.Service.DeployAsync(new FunctionDeployment
        {
            Name = "forker",
            Kind = FunctionKinds.Exec,
            Source = """
                #!/bin/bash
                sleep 600 &
                echo $! > "$TMPDIR/child"
                while read -r line; do
                  id=${line#*\"id\":}
                  printf '{"id":%s,"response":%s}\n' "${id%%,*}" "$(cat "$TMPDIR/child")"
                done
                """,
            FileName = "forker.sh",
        });

        var result = await InvokeAsync("forker");
        Assert.Equal(InvocationStatus.Succeeded, result.Status);
        var child = result.Response!.Value.GetInt32();
        Assert.True(Directory.Exists($"/proc/{child}"), "the background child runs while its worker does");

        await bed.Service.DrainIdleAsync("forker");

        await Eventually.WaitAsync(() => !Directory.Exists($"/proc/{child}") || File.ReadAllText($"/proc/{child}/stat").Contains(") Z ", StringComparison.Ordinal),
            FunctionTestBed.Deadline, "the child to be killed with the worker's process group");
    }

    [Fact]
    public async Task Workers_see_a_clean_environment_with_only_declared_variables()
    {
        Environment.SetEnvironmentVariable("AUTONOMIC_FN_TEST_SECRET", "do-not-leak");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "do-not-leak-either");
        try
        {
            await bed.DeployPythonAsync("env", FunctionTestBed.PythonHandler("response = dict(os.environ)"),
                env: new Dictionary<string, string> { ["GREETING"] = "hi" });

            var result = await InvokeAsync("env");

            var env = result.Response!.Value.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            Assert.Equal(["GREETING", "HOME", "LANG", "PATH", "TMPDIR"], env.Keys.Order(StringComparer.Ordinal));
            Assert.Equal("hi", env["GREETING"]);
            Assert.Equal(env["HOME"], env["TMPDIR"]);
            Assert.StartsWith(bed.TempRoot, env["TMPDIR"], StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AUTONOMIC_FN_TEST_SECRET", null);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", null);
        }
    }

    [Fact]
    public async Task Parallel_invocations_share_at_most_max_workers_each_with_its_own_temp_dir_removed_at_the_end()
    {
        await bed.DeployPythonAsync("par", FunctionTestBed.PythonHandler("""
            time.sleep(event["sleep"])
            open(os.path.join(os.environ["TMPDIR"], "scratch"), "w").write("x")
            response = {"pid": os.getpid(), "tmp": os.environ["TMPDIR"]}
            """), maxWorkers: 2, timeoutMs: 10_000);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => InvokeAsync("par", """{"sleep":0.2}""")));

        Assert.All(results, r => Assert.Equal(InvocationStatus.Succeeded, r.Status));
        var pids = results.Select(r => r.Response!.Value.GetProperty("pid").GetInt32()).Distinct().ToList();
        var dirs = results.Select(r => r.Response!.Value.GetProperty("tmp").GetString()!).Distinct().ToList();
        Assert.Equal(2, pids.Count);
        Assert.Equal(2, dirs.Count);
        Assert.Equal(2, results.Count(r => r.Cold));
        Assert.All(dirs, d => Assert.True(File.Exists(Path.Combine(d, "scratch"))));
        Assert.Equal(2, bed.Service.Workers("par", 1).Count);

        await bed.Service.DrainIdleAsync("par");

        Assert.All(dirs, d => Assert.False(Directory.Exists(d), $"{d} should be removed with its worker"));
        Assert.Empty(bed.Service.Workers("par", 1));
    }

    [Fact]
    public async Task Min_idle_prewarms_a_worker_so_the_first_invocation_is_warm()
    {
        await bed.DeployCSharpAsync("warm", Hello, minIdle: 1);

        await Eventually.WaitAsync(() => bed.Service.Workers("warm", 1).Count == 1, FunctionTestBed.Deadline, "a pre-warmed worker");
        var first = await InvokeAsync("warm");

        Assert.Equal(InvocationStatus.Succeeded, first.Status);
        Assert.False(first.Cold);
    }

    [Fact]
    public async Task A_restarted_service_prewarms_functions_that_ask_for_idle_workers()
    {
        await bed.DeployCSharpAsync("rewarm", Hello, minIdle: 1);
        await using var restarted = new Autonomic.Backends.Functions.FunctionService(bed.Store, bed.Options with { LogDirectory = Path.Combine(bed.Root, "logs2") }, TimeProvider.System);

        await Eventually.WaitAsync(() => restarted.Workers("rewarm", 1).Count == 1, FunctionTestBed.Deadline, "a pre-warmed worker after the restart");
        var first = await restarted.InvokeAsync("rewarm", null, Event("""{"name":"again"}"""));

        Assert.Equal(InvocationStatus.Succeeded, first.Status);
        Assert.False(first.Cold);
    }

    [Fact]
    public async Task Delete_stops_the_workers_and_removes_the_package()
    {
        await bed.DeployCSharpAsync("gone", Hello);
        Assert.Equal(InvocationStatus.Succeeded, (await InvokeAsync("gone")).Status);
        var worker = Assert.Single(bed.Service.Workers("gone", 1));

        Assert.True(await bed.Service.DeleteAsync("gone"));

        Assert.False(Directory.Exists(Path.Combine(bed.Options.Directory, "gone")));
        Assert.False(Directory.Exists(worker.TempDirectory));
        Assert.Equal(InvocationStatus.NotFound, (await InvokeAsync("gone")).Status);
        Assert.False(await bed.Service.DeleteAsync("gone"));
        Assert.Empty(await bed.Service.ListAsync());
    }
}
