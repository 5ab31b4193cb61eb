using System.Text.Json;
using Autonomic.Cli.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;

namespace Autonomic.Integration.Tests.Observability;

/// <summary>The JSON log lines carry Elastic Common Schema names, so Filebeat and Logstash take them as they are.</summary>
public sealed class EcsLogTests
{
    private static List<JsonElement> Log(Action<ILogger> write)
    {
        var output = new StringWriter();
        var serilog = new Serilog.LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(new Capture(new EcsJsonFormatter("autonomic"), output)).CreateLogger();
        using (var provider = new SerilogLoggerProvider(serilog, dispose: true))
        {
            write(provider.CreateLogger("Autonomic.Agents.Healing.HealerAgent"));
        }

        return [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    [Fact]
    public void A_line_has_the_ecs_fields_and_structured_values_as_labels()
    {
        var line = Assert.Single(Log(l => l.LogInformation("{InstanceId}: {From} -> {To}", "web-0", "ready", "stopping")));

        Assert.True(DateTimeOffset.TryParse(line.GetProperty("@timestamp").GetString(), out _));
        Assert.EndsWith("Z", line.GetProperty("@timestamp").GetString(), StringComparison.Ordinal);
        Assert.Equal("info", line.GetProperty("log.level").GetString());
        Assert.Equal("web-0: ready -> stopping", line.GetProperty("message").GetString());
        Assert.Equal("autonomic", line.GetProperty("service.name").GetString());
        Assert.Equal("Autonomic.Agents.Healing.HealerAgent", line.GetProperty("log.logger").GetString());
        Assert.Equal("web-0", line.GetProperty("autonomic.instance.id").GetString());
        Assert.Equal("ready", line.GetProperty("labels").GetProperty("From").GetString());
    }

    [Fact]
    public void Scope_values_request_id_and_errors_map_to_their_ecs_fields()
    {
        var line = Assert.Single(Log(l =>
        {
            using (l.BeginScope(new Dictionary<string, object> { ["RequestId"] = "req-42", ["EventAction"] = "restart" }))
            {
                l.LogError(new InvalidOperationException("boom"), "restart failed");
            }
        }));

        Assert.Equal("error", line.GetProperty("log.level").GetString());
        Assert.Equal("req-42", line.GetProperty("http.request.id").GetString());
        Assert.Equal("restart", line.GetProperty("event.action").GetString());
        Assert.Equal("System.InvalidOperationException", line.GetProperty("error.type").GetString());
        Assert.Equal("boom", line.GetProperty("error.message").GetString());
        Assert.Contains("InvalidOperationException: boom", line.GetProperty("error.stack_trace").GetString(), StringComparison.Ordinal);
    }

    private sealed class Capture(EcsJsonFormatter formatter, TextWriter output) : Serilog.Core.ILogEventSink
    {
        public void Emit(Serilog.Events.LogEvent logEvent) => formatter.Format(logEvent, output);
    }
}
