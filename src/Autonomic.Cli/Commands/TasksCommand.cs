using System.CommandLine;
using System.Text.Json;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary>
/// <c>autonomic tasks [--status S] [--limit N] [--watch] [--json]</c>, <c>tasks show ID</c>,
/// <c>tasks submit TYPE --input JSON [--idempotency-key K] [--max-attempts N]</c> and <c>tasks cancel ID</c>.
/// </summary>
internal static class TasksCommand
{
    private static readonly string[] Statuses = [.. Enum.GetValues<TaskState>().Select(TaskLifecycle.Name), "dead"];

    public static Command Create(ClientRunner runner)
    {
        var status = new Option<string?>("--status") { Description = $"Only tasks in this status: {string.Join(", ", Statuses)}" };
        status.AcceptOnlyFromAmong(Statuses);
        var limit = IncidentsCommand.Limit(50);
        var watch = new Option<bool>("--watch", "-w") { Description = "Refresh until Ctrl+C (a line per change when piped)" };
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var command = new Command("tasks", "List tasks, newest first; submit, show and cancel them") { status, limit, watch, json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var path = $"api/v1/tasks?limit={parse.GetValue(limit)}{(parse.GetValue(status) is { } s ? "&status=" + s : "")}";
            if (parse.GetValue(watch))
            {
                return await WatchAsync(runner.Context, client, path, ct);
            }

            var text = await client.GetTextAsync(path, ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var tasks = ApiClient.Parse<List<TaskRecord>>(text);
            if (tasks.Count == 0)
            {
                runner.Context.Console.Write(new Text("no tasks\n"));
                return 0;
            }

            runner.Context.Console.Write(Table(runner.Context, tasks));
            return 0;
        }));

        command.Subcommands.Add(Show(runner));
        command.Subcommands.Add(Submit(runner));
        command.Subcommands.Add(Cancel(runner));
        return command;
    }

    private static Command Show(ClientRunner runner)
    {
        var id = new Argument<string>("id") { Description = "The task id" };
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var show = new Command("show", "Show one task with its input, result and error") { id, json };
        show.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync($"api/v1/tasks/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            RenderOne(runner.Context, ApiClient.Parse<TaskRecord>(text));
            return 0;
        }));
        return show;
    }

    private static Command Submit(ClientRunner runner)
    {
        var type = new Argument<string>("type") { Description = $"The task type: {string.Join(", ", TaskTypes.All)}" };
        type.AcceptOnlyFromAmong([.. TaskTypes.All]);
        var input = new Option<string>("--input", "-i") { Description = "The task's input as a JSON object", Required = true };
        input.Validators.Add(r =>
        {
            try
            {
                using var doc = JsonDocument.Parse(r.GetValueOrDefault<string>() ?? "");
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    r.AddError("--input must be a JSON object");
                }
            }
            catch (JsonException e)
            {
                r.AddError($"--input is not valid JSON: {e.Message}");
            }
        });
        var key = new Option<string?>("--idempotency-key") { Description = "Submitting again with this key returns the first task instead of a new one" };
        var attempts = new Option<int?>("--max-attempts") { Description = $"Attempts before the task fails (1-{TaskInputs.MaxAttemptsLimit})" };
        attempts.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1 or > TaskInputs.MaxAttemptsLimit)
            {
                r.AddError($"--max-attempts must be from 1 to {TaskInputs.MaxAttemptsLimit}");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var submit = new Command("submit", "Submit a task; prints its id") { type, input, key, attempts, json };
        submit.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            using var doc = JsonDocument.Parse(parse.GetValue(input)!);
            var body = new
            {
                type = parse.GetValue(type),
                input = doc.RootElement.Clone(),
                idempotencyKey = parse.GetValue(key),
                maxAttempts = parse.GetValue(attempts),
            };
            var text = await client.PostJsonAsync("api/v1/tasks", body, ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var task = ApiClient.Parse<TaskRecord>(text);
            await runner.Context.Out.WriteLineAsync($"{task.Id} {TaskLifecycle.Name(task.Status)} ({task.Type}, up to {task.MaxAttempts} attempts)");
            return 0;
        }));
        return submit;
    }

    private static Command Cancel(ClientRunner runner)
    {
        var id = new Argument<string>("id") { Description = "The task id" };
        var cancel = new Command("cancel", "Cancel a queued task, or stop a running one") { id };
        cancel.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.PostJsonAsync($"api/v1/tasks/{Uri.EscapeDataString(parse.GetValue(id)!)}/cancel", new { }, ct);
            var task = ApiClient.Parse<TaskRecord>(text);
            await runner.Context.Out.WriteLineAsync(task.Status == TaskState.Cancelled
                ? $"{task.Id} cancelled"
                : $"{task.Id} is running: cancellation requested; its worker stops it");
            return 0;
        }));
        return cancel;
    }

    private static async Task<int> WatchAsync(CliContext context, ApiClient client, string path, CancellationToken ct)
    {
        var interactive = context.Console.Profile.Capabilities.Interactive && context.Console.Profile.Capabilities.Ansi;
        try
        {
            if (interactive)
            {
                var first = ApiClient.Parse<List<TaskRecord>>(await client.GetTextAsync(path, ct));
                await context.Console.Live(Table(context, first)).StartAsync(async live =>
                {
                    while (true)
                    {
                        await Task.Delay(context.FollowInterval, context.Time, ct);
                        live.UpdateTarget(Table(context, ApiClient.Parse<List<TaskRecord>>(await client.GetTextAsync(path, ct))));
                    }
                });
                return 0;
            }

            // Piped: one line per task whenever its status or attempt changes, so the output reads as a log.
            var seen = new Dictionary<string, (TaskState, int)>(StringComparer.Ordinal);
            while (true)
            {
                var tasks = ApiClient.Parse<List<TaskRecord>>(await client.GetTextAsync(path, ct));
                foreach (var t in tasks.OrderBy(t => t.UpdatedAt ?? t.CreatedAt))
                {
                    if (!seen.TryGetValue(t.Id, out var before) || before != (t.Status, t.Attempts))
                    {
                        seen[t.Id] = (t.Status, t.Attempts);
                        await context.Out.WriteLineAsync(Line(t));
                    }
                }

                await context.Out.FlushAsync(ct);
                await Task.Delay(context.FollowInterval, context.Time, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl+C is how --watch ends.
            return 0;
        }
    }

    internal static string Line(TaskRecord t) =>
        $"{Format.Time(t.UpdatedAt ?? t.CreatedAt)} {t.Id} {t.Type} {Name(t)} {t.Attempts}/{t.MaxAttempts}{(t.Error is { } e ? " " + e : "")}";

    private static string Name(TaskRecord t) => t.Dead ? "failed(dead)" : TaskLifecycle.Name(t.Status);

    private static Table Table(CliContext context, IReadOnlyList<TaskRecord> tasks)
    {
        var now = context.Time.GetUtcNow();
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "id", "type", "status", "attempts", "created", "took", "error" })
        {
            table.AddColumn(column);
        }

        foreach (var t in tasks)
        {
            var took = t.StartedAt is { } s ? Format.Duration((t.FinishedAt ?? now) - s) : "-";
            table.AddRow(
                new Text(t.Id),
                new Text(t.Type),
                new Text(Name(t), new Style(Colour(t.Status))),
                new Text($"{t.Attempts}/{t.MaxAttempts}"),
                new Text(Format.Time(t.CreatedAt)),
                new Text(took),
                new Text(Format.Or(t.Error)));
        }

        return table;
    }

    private static void RenderOne(CliContext context, TaskRecord t)
    {
        var facts = new Grid().AddColumn().AddColumn();
        void Fact(string name, string value) => facts.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
        Fact("task", t.Id);
        Fact("type", t.Type);
        Fact("status", Name(t) + (t.CancelRequested && t.Status == TaskState.Running ? " (cancel requested)" : ""));
        Fact("attempts", $"{t.Attempts} of {t.MaxAttempts}");
        Fact("next attempt", Format.Time(t.NextAttemptAt));
        Fact("created", Format.Time(t.CreatedAt));
        Fact("started", Format.Time(t.StartedAt));
        Fact("finished", Format.Time(t.FinishedAt));
        Fact("requested by", Format.Or(t.RequestedBy));
        Fact("idempotency key", Format.Or(t.IdempotencyKey));
        Fact("error", Format.Or(t.Error));
        context.Console.Write(facts);
        var pretty = new JsonSerializerOptions(JsonDefaults.Options) { WriteIndented = true };
        context.Console.Write(new Rule("input") { Justification = Justify.Left });
        context.Console.Write(new Text(JsonSerializer.Serialize(t.Input, pretty) + "\n"));
        context.Console.Write(new Rule("result") { Justification = Justify.Left });
        context.Console.Write(new Text((t.Result is { } r ? JsonSerializer.Serialize(r, pretty) : "none") + "\n"));
    }

    private static Color Colour(TaskState s) => s switch
    {
        TaskState.Succeeded => Color.Green,
        TaskState.Running => Color.Yellow,
        TaskState.Queued => Color.Grey,
        TaskState.Failed => Color.Red,
        _ => Color.Orange1,
    };
}
