using System.CommandLine;
using System.Text.Json;
using Autonomic.Cli;
using Autonomic.Cli.Commands;

namespace Autonomic.Integration.Tests.Scaling;

/// <summary><c>autonomic scale what-if</c>: the HPA calculation on a pod picture read from stdin.</summary>
public sealed class ScaleWhatIfTests
{
    private static async Task<(int Code, JsonElement Json)> RunAsync(string stdin)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = CliContext.ForWriters(output, error);
        var root = new RootCommand("autonomic") { ScaleCommand.Create(context, () => new StringReader(stdin)) };
        int code = await root.Parse(["scale", "what-if"]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, JsonDocument.Parse(output.ToString()).RootElement.Clone());
    }

    private static string Pod(string state, long? request = 1000, long? usage = null) =>
        "{" + string.Join(", ", new[]
        {
            $"\"state\": \"{state}\"",
            request is { } r ? $"\"requestMillicores\": {r}" : null,
            usage is { } u ? $"\"usageMillicores\": {u}" : null,
        }.Where(x => x is not null)) + "}";

    private static string Input(int current, int target, params string[] pods) =>
        $"{{\"currentReplicas\": {current}, \"targetUtilization\": {target}, \"tolerance\": 0.1, \"pods\": [{string.Join(", ", pods)}]}}";

    [Fact]
    public async Task Ready_pods_give_the_desired_count_and_utilization()
    {
        var (code, json) = await RunAsync(Input(3, 30, Pod("ready", usage: 300), Pod("ready", usage: 500), Pod("ready", usage: 700)));
        Assert.Equal(0, code);
        Assert.Equal(5, json.GetProperty("desiredReplicas").GetInt32());
        Assert.Equal(50, json.GetProperty("utilization").GetInt32());
    }

    [Theory]
    [InlineData("unready", 4)] // counted as 0% on the scale-up: 1200 / 3000 = 40% -> ceil(1.33 × 3)
    [InlineData("missing", 4)] // the same on a scale-up
    [InlineData("ignored", 4)] // left out: 60% over two pods -> ceil(2 × 2)
    public async Task Each_pod_state_is_counted_as_kubernetes_counts_it(string state, int expected)
    {
        var third = state == "missing" ? Pod(state) : Pod(state, usage: 300);
        var (code, json) = await RunAsync(Input(3, 30, third, Pod("ready", usage: 500), Pod("ready", usage: 700)));
        Assert.Equal(0, code);
        Assert.Equal(expected, json.GetProperty("desiredReplicas").GetInt32());
        Assert.Equal(60, json.GetProperty("utilization").GetInt32());
    }

    [Fact]
    public async Task Missing_pods_count_as_full_request_on_a_scale_down()
    {
        var (code, json) = await RunAsync(Input(2, 100, Pod("ready", 2000, 1900), Pod("missing", 2000)));
        Assert.Equal(0, code);
        Assert.Equal(2, json.GetProperty("desiredReplicas").GetInt32());
        Assert.Equal(95, json.GetProperty("utilization").GetInt32());
    }

    [Theory]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30, \"pods\": [{\"state\": \"unready\", \"requestMillicores\": 1000}]}", "did not receive metrics")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30, \"pods\": []}", "no pods")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30, \"pods\": [{\"state\": \"ready\", \"requestMillicores\": 0, \"usageMillicores\": 5}]}", "pods[0].requestMillicores")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30, \"pods\": [{\"state\": \"ready\", \"requestMillicores\": 100}]}", "pods[0].usageMillicores: required")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30, \"pods\": [{\"state\": \"sleepy\", \"requestMillicores\": 100}]}", "pods[0].state: unknown state")]
    [InlineData("{\"currentReplicas\": -1, \"targetUtilization\": 30, \"pods\": []}", "currentReplicas")]
    [InlineData("{\"currentReplicas\": 3, \"pods\": []}", "targetUtilization: required")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": \"30\", \"pods\": []}", "targetUtilization: expected a whole number")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30, \"tolerance\": 2, \"pods\": []}", "tolerance")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30}", "pods: required")]
    [InlineData("{\"currentReplicas\": 3, \"targetUtilization\": 30, \"pods\": [", "malformed JSON")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("", "no input")]
    public async Task Bad_input_is_an_error_object_and_exit_1(string stdin, string message)
    {
        var (code, json) = await RunAsync(stdin);
        Assert.Equal(1, code);
        Assert.Contains(message, json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_root_command_reads_the_contexts_stdin()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var plain = CliContext.ForWriters(output, error);
        var context = new CliContext { Console = plain.Console, Out = output, Error = error, In = new StringReader(Input(4, 50, Pod("ready", 100, 25), Pod("ready", 100, 25))) };
        Assert.Equal(0, await CliApp.RunAsync(["scale", "what-if"], context));
        // The ratio (0.5) multiplies the pods with metrics (2), not the current count (4), as in Kubernetes.
        Assert.Equal("{\"desiredReplicas\":1,\"utilization\":25}", output.ToString().Trim());
    }

    [Fact]
    public async Task Scale_without_a_subcommand_is_a_usage_error()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["scale"], CliContext.ForWriters(output, error)));
    }
}
