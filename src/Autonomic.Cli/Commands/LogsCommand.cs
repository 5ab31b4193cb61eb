using System.CommandLine;
using System.Text.RegularExpressions;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic logs TARGET [--lines N] [--follow]</c>: the tail of an instance's (or a service's) log.</summary>
internal static partial class LogsCommand
{
    public static Command Create(ClientRunner runner)
    {
        var target = new Argument<string>("target") { Description = "An instance id (web-0) or a service name (web)" };
        target.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } t && !Name().IsMatch(t))
            {
                r.AddError($"'{t}' is not an instance id or service name (lowercase letters, digits and '-')");
            }
        });
        var lines = new Option<int>("--lines", "-n") { Description = "How many lines (1-10000)", DefaultValueFactory = _ => 100 };
        lines.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 10_000)
            {
                r.AddError("--lines must be from 1 to 10000");
            }
        });
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new lines until Ctrl+C" };
        var command = new Command("logs", "Print the end of an instance's or a service's log") { target, lines, follow };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var path = $"api/v1/logs/{parse.GetValue(target)}?lines={parse.GetValue(lines)}";
            var previous = SplitLines(await client.GetTextAsync(path, ct));
            foreach (var line in previous)
            {
                await runner.Context.Out.WriteLineAsync(line);
            }

            if (!parse.GetValue(follow))
            {
                return 0;
            }

            await runner.Context.Out.FlushAsync(ct);
            try
            {
                while (true)
                {
                    await Task.Delay(runner.Context.FollowInterval, runner.Context.Time, ct);
                    var current = SplitLines(await client.GetTextAsync(path, ct));
                    foreach (var line in NewLines(previous, current))
                    {
                        await runner.Context.Out.WriteLineAsync(line);
                    }

                    await runner.Context.Out.FlushAsync(ct);
                    previous = current;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C is how --follow ends.
                return 0;
            }
        }));
        return command;
    }

    /// <summary>
    /// The lines of <paramref name="current"/> that came after <paramref name="previous"/>. The API returns a tail,
    /// so the two windows overlap: the longest suffix of the old window that starts the new one marks where new
    /// lines begin. No overlap means everything is new (more lines arrived than the window holds, or the log rotated).
    /// </summary>
    internal static IReadOnlyList<string> NewLines(IReadOnlyList<string> previous, IReadOnlyList<string> current)
    {
        for (var k = Math.Min(previous.Count, current.Count); k > 0; k--)
        {
            var match = true;
            for (var j = 0; j < k && match; j++)
            {
                match = previous[previous.Count - k + j] == current[j];
            }

            if (match)
            {
                return current.Skip(k).ToList();
            }
        }

        return current;
    }

    private static List<string> SplitLines(string text)
    {
        var lines = text.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex Name();
}
