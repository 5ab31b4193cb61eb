using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Autonomic.Agents.Tasks;
using Autonomic.Cli;
using Autonomic.Cli.Commands;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;
using Autonomic.Gateway;
using Autonomic.Integration.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Tasks;

/// <summary>The task API on a real gateway and the <c>autonomic tasks</c> commands against it, with a running agent.</summary>
public sealed class TasksApiTests : IAsyncLifetime
{
    private TaskHarness _h = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _h = await TaskHarness.CreateAsync();
        await _h.StartAgentAsync();
        _gateway = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None, LogDirectory = Path.Combine(_h.Root, "logs") }, services =>
        {
            services.AddSingleton(_h.State);
            services.AddSingleton<IFaultInjector>(new RecordingFaultInjector());
            services.AddSingleton(_h.Board);
        });
        _http = new HttpClient { BaseAddress = _gateway.Address };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        await _h.DisposeAsync();
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return _http.SendAsync(request);
    }

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    private async Task<TaskRecord> WaitAsync(string id) => await _h.WaitFinishedAsync(id);

    [Fact]
    public async Task Submit_returns_202_with_the_queued_task_and_it_runs()
    {
        using var response = await PostAsync("/api/v1/tasks", """{"type":"job","input":{"command":"/bin/sh","args":["-c","echo api"]}}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await BodyAsync(response);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal("queued", body.GetProperty("status").GetString());
        Assert.Equal($"/api/v1/tasks/{id}", response.Headers.Location!.OriginalString);
        // This host runs without keys (auth is tested in ApiAuthTests): the caller is anonymous.
        Assert.Equal("anonymous", body.GetProperty("requestedBy").GetString());

        Assert.Equal(TaskState.Succeeded, (await WaitAsync(id)).Status);
        using var get = await _http.GetAsync($"/api/v1/tasks/{id}");
        var shown = await BodyAsync(get);
        Assert.Equal("succeeded", shown.GetProperty("status").GetString());
        Assert.Equal("api", shown.GetProperty("result").GetProperty("logTail")[0].GetString());
    }

    [Fact]
    public async Task Unknown_type_is_422_naming_the_known_types()
    {
        using var response = await PostAsync("/api/v1/tasks", """{"type":"object.delete","input":{}}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var body = await BodyAsync(response);
        Assert.Contains("object.delete", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(TaskTypes.All, body.GetProperty("knownTypes").EnumerateArray().Select(x => x.GetString()!).ToArray());
    }

    [Fact]
    public async Task Invalid_input_is_422_listing_every_problem_and_bad_json_is_400()
    {
        using var invalid = await PostAsync("/api/v1/tasks", """{"type":"object.copy","input":{"fromKey":"../x"},"maxAttempts":0}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.StatusCode);
        var errors = (await BodyAsync(invalid)).GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains("toKey is required", errors);
        Assert.Contains(errors, e => e.Contains("fromKey", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("maxAttempts", StringComparison.Ordinal));

        using var bad = await PostAsync("/api/v1/tasks", "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task The_idempotency_key_header_returns_the_first_task_with_200()
    {
        const string Body = """{"type":"function.invoke","input":{"function":"echo","event":{"tag":"idem"}}}""";
        using var first = await PostAsync("/api/v1/tasks", Body, "order-42");
        using var second = await PostAsync("/api/v1/tasks", Body, "order-42");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((await BodyAsync(first)).GetProperty("id").GetString(), (await BodyAsync(second)).GetProperty("id").GetString());

        using var other = await PostAsync("/api/v1/tasks", """{"type":"function.invoke","input":{"function":"other"}}""", "order-42");
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        using var mismatch = await PostAsync("/api/v1/tasks", """{"type":"job","input":{"command":"true"},"idempotencyKey":"a"}""", "b");
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
    }

    [Fact]
    public async Task List_filters_by_status_show_is_404_for_unknown_ids_and_stats_count()
    {
        using var ok = await PostAsync("/api/v1/tasks", """{"type":"job","input":{"command":"/bin/true"}}""");
        using var bad = await PostAsync("/api/v1/tasks", """{"type":"job","input":{"command":"/bin/false"},"maxAttempts":1}""");
        var okId = (await BodyAsync(ok)).GetProperty("id").GetString()!;
        var badId = (await BodyAsync(bad)).GetProperty("id").GetString()!;
        await WaitAsync(okId);
        await WaitAsync(badId);

        var dead = await _http.GetFromJsonAsync<List<TaskRecord>>("/api/v1/tasks?status=dead", JsonDefaults.Options);
        Assert.Equal(badId, Assert.Single(dead!).Id);
        var succeeded = await _http.GetFromJsonAsync<List<TaskRecord>>("/api/v1/tasks?status=succeeded&limit=5", JsonDefaults.Options);
        Assert.Equal(okId, Assert.Single(succeeded!).Id);

        using var badStatus = await _http.GetAsync("/api/v1/tasks?status=done");
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        using var badLimit = await _http.GetAsync("/api/v1/tasks?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        using var missing = await _http.GetAsync("/api/v1/tasks/task-nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var stats = await BodyAsync(await _http.GetAsync("/api/v1/tasks/stats"));
        Assert.Equal(1, stats.GetProperty("byStatus").GetProperty("succeeded").GetInt32());
        Assert.Equal(1, stats.GetProperty("byStatus").GetProperty("failed").GetInt32());
        Assert.Equal(1, stats.GetProperty("dead").GetInt32());
        Assert.Equal(0, stats.GetProperty("depth").GetInt32());
    }

    [Fact]
    public async Task Cancel_of_a_running_job_is_202_and_of_a_finished_task_409()
    {
        using var submitted = await PostAsync("/api/v1/tasks", """{"type":"job","input":{"command":"/bin/sleep","args":["60"]}}""");
        var id = (await BodyAsync(submitted)).GetProperty("id").GetString()!;
        await _h.WaitAsync(id, t => t.Status == TaskState.Running, "the job to run");

        using var cancel = await PostAsync($"/api/v1/tasks/{id}/cancel", "{}");
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(TaskState.Cancelled, (await WaitAsync(id)).Status);

        using var again = await PostAsync($"/api/v1/tasks/{id}/cancel", "{}");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        using var unknown = await PostAsync("/api/v1/tasks/task-nope/cancel", "{}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private sealed record Run(int ExitCode, string Out, string Error);

    private async Task<Run> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var plain = CliContext.ForWriters(output, error);
        var context = new CliContext { Console = plain.Console, Out = output, Error = error, FollowInterval = TimeSpan.FromMilliseconds(50) };
        var code = await CliApp.RunAsync([.. args, "--api", _gateway.Address.ToString()], context);
        return new Run(code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Cli_submits_lists_shows_and_cancels_tasks()
    {
        var submit = await CliAsync("tasks", "submit", "job", "--input", """{"command":"/bin/sh","args":["-c","echo from-cli"]}""", "--idempotency-key", "cli-1");
        Assert.Equal(0, submit.ExitCode);
        var id = submit.Out.Split(' ')[0];
        Assert.StartsWith("task-", id, StringComparison.Ordinal);
        Assert.Contains("queued (job, up to 3 attempts)", submit.Out, StringComparison.Ordinal);
        await WaitAsync(id);

        var again = await CliAsync("tasks", "submit", "job", "--input", """{"command":"/bin/sh","args":["-c","echo from-cli"]}""", "--idempotency-key", "cli-1");
        Assert.StartsWith(id + " succeeded", again.Out, StringComparison.Ordinal);

        var list = await CliAsync("tasks");
        Assert.Equal(0, list.ExitCode);
        var row = list.Out.Split('\n').Single(l => l.Contains(id, StringComparison.Ordinal));
        Assert.Contains("succeeded", row, StringComparison.Ordinal);
        Assert.Contains("1/3", row, StringComparison.Ordinal);

        var show = await CliAsync("tasks", "show", id);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("from-cli", show.Out, StringComparison.Ordinal);
        Assert.Contains("\"exitCode\": 0", show.Out, StringComparison.Ordinal);

        var cancel = await CliAsync("tasks", "cancel", id);
        Assert.Equal(1, cancel.ExitCode);
        Assert.Contains("task already finished", cancel.Error, StringComparison.Ordinal);

        var queued = await CliAsync("tasks", "submit", "job", "--input", """{"command":"/bin/sleep","args":["60"]}""");
        var sleeper = queued.Out.Split(' ')[0];
        await _h.WaitAsync(sleeper, t => t.Status == TaskState.Running, "the sleeper to run");
        var stop = await CliAsync("tasks", "cancel", sleeper);
        Assert.Equal(0, stop.ExitCode);
        Assert.Contains("cancellation requested", stop.Out, StringComparison.Ordinal);
        Assert.Equal(TaskState.Cancelled, (await WaitAsync(sleeper)).Status);

        var filtered = await CliAsync("tasks", "--status", "cancelled");
        Assert.Contains(sleeper, filtered.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(id, filtered.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_usage_errors_exit_2_with_one_line()
    {
        var badJson = await CliAsync("tasks", "submit", "job", "--input", "{oops");
        Assert.Equal(2, badJson.ExitCode);
        Assert.Contains("--input is not valid JSON", badJson.Error, StringComparison.Ordinal);

        var badType = await CliAsync("tasks", "submit", "object.delete", "--input", "{}");
        Assert.Equal(2, badType.ExitCode);

        var badStatus = await CliAsync("tasks", "--status", "done");
        Assert.Equal(2, badStatus.ExitCode);

        var invalid = await CliAsync("tasks", "submit", "job", "--input", """{"args":["x"]}""");
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("invalid task: command is required", invalid.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_watch_prints_a_line_per_change_until_cancelled()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var plain = CliContext.ForWriters(TextWriter.Synchronized(output), error);
        var context = new CliContext { Console = plain.Console, Out = TextWriter.Synchronized(output), Error = error, FollowInterval = TimeSpan.FromMilliseconds(50) };
        using var cts = new CancellationTokenSource();
        var watching = CliApp.RunAsync(["tasks", "--watch", "--api", _gateway.Address.ToString()], context, cts.Token);

        var task = await _h.SubmitAsync(TaskTypes.Job, new { command = "/bin/true" });
        await WaitAsync(task.Id);
        await Eventually.WaitAsync(() => output.ToString().Contains($"{task.Id} job succeeded 1/3", StringComparison.Ordinal), TaskHarness.Deadline, "the succeeded line");
        await cts.CancelAsync();
        Assert.Equal(0, await watching.WaitAsync(TaskHarness.Deadline));
    }
}
