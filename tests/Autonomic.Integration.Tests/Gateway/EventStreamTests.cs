using System.Net;
using System.Text;
using Autonomic.Core.Model;
using Autonomic.Gateway.Auth;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary><c>GET /api/v1/events/stream</c> over real Kestrel: live events, filters, replay, and slow clients.</summary>
public sealed class EventStreamTests(KeyedGateway gw) : IClassFixture<KeyedGateway>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    /// <summary>Reads SSE frames (blank-line separated) from a stream in the background.</summary>
    private sealed class SseReader : IAsyncDisposable
    {
        private readonly HttpResponseMessage response;
        private readonly CancellationTokenSource stop = new();
        private readonly Task pump;
        private readonly StringBuilder text = new();

        public SseReader(HttpResponseMessage response)
        {
            this.response = response;
            pump = Task.Run(async () =>
            {
                await using var stream = await response.Content.ReadAsStreamAsync(stop.Token);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var buffer = new char[4096];
                int n;
                while ((n = await reader.ReadAsync(buffer, stop.Token)) > 0)
                {
                    lock (text)
                    {
                        text.Append(buffer, 0, n);
                    }
                }
            });
        }

        public string Text
        {
            get
            {
                lock (text)
                {
                    return text.ToString();
                }
            }
        }

        public Task Ended => pump;

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try
            {
                await pump;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
            {
            }

            response.Dispose();
            stop.Dispose();
        }
    }

    private async Task<SseReader> OpenAsync(HttpClient http, string path, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new SseReader(response);
        await Eventually.WaitAsync(() => reader.Text.Contains(": connected", StringComparison.Ordinal), Deadline, "the stream to open");
        return reader;
    }

    private static CloudEvent Event(string type, string subject) => CloudEvent.Create("/test", type, subject, DateTimeOffset.UnixEpoch, new { n = 1 });

    [Fact]
    public async Task Live_events_arrive_as_id_event_and_data_lines_filtered_by_type()
    {
        using var http = gw.Client((await gw.CreateKeyAsync(ApiRoles.Viewer, rate: 0)).Key);
        await using var all = await OpenAsync(http, "/api/v1/events/stream");
        await using var incidents = await OpenAsync(http, "/api/v1/events/stream?types=incident.*,task.%23");

        var opened = Event(EventTypes.IncidentOpened, "web-0");
        var task = Event("task.step.done", "t1");
        var probe = Event(EventTypes.ProbeFailed, "web-1");
        foreach (var e in new[] { opened, task, probe })
        {
            await gw.Bus.PublishAsync(e);
        }

        await Eventually.WaitAsync(() => all.Text.Contains(probe.Id, StringComparison.Ordinal), Deadline, "the probe event on the unfiltered stream");
        Assert.Contains($"id: {opened.Id}\nevent: incident.opened\ndata: {{", all.Text, StringComparison.Ordinal);
        await Eventually.WaitAsync(() => incidents.Text.Contains(task.Id, StringComparison.Ordinal), Deadline, "the task event on the filtered stream");
        Assert.Contains(opened.Id, incidents.Text, StringComparison.Ordinal);
        // The probe event was published last; by the time the task event arrived it was matched or skipped already.
        Assert.DoesNotContain(probe.Id, incidents.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Last_event_id_replays_the_newer_events_from_the_store()
    {
        using var http = gw.Client((await gw.CreateKeyAsync(ApiRoles.Viewer, rate: 0)).Key);
        var first = Event("replay.one", "a");
        var second = Event("replay.two", "b");
        var third = Event("replay.three", "c");
        foreach (var e in new[] { first, second, third })
        {
            await gw.Store.AppendEventAsync(e);
        }

        await using var stream = await OpenAsync(http, "/api/v1/events/stream?types=replay.*", lastEventId: first.Id);
        await Eventually.WaitAsync(() => stream.Text.Contains(third.Id, StringComparison.Ordinal), Deadline, "the replayed events");
        Assert.Contains(second.Id, stream.Text, StringComparison.Ordinal);
        Assert.DoesNotContain($"id: {first.Id}", stream.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_filter_is_400_and_no_key_is_401()
    {
        using var http = gw.Client(gw.AdminKey);
        using var bad = await http.GetAsync("/api/v1/events/stream?types=inc..x", HttpCompletionOption.ResponseHeadersRead);
        await ApiAuthTests.AssertProblemAsync(bad, HttpStatusCode.BadRequest);
        using var anonymous = gw.Client();
        using var refused = await anonymous.GetAsync("/api/v1/events/stream", HttpCompletionOption.ResponseHeadersRead);
        await ApiAuthTests.AssertProblemAsync(refused, HttpStatusCode.Unauthorized);
    }
}

/// <summary>A client that stops reading is cut off; the bus never waits for it.</summary>
public sealed class EventStreamBackpressureTests() : IAsyncLifetime
{
    private readonly KeyedGateway gw = new(o => o.StreamClientBuffer = 4);

    public Task InitializeAsync() => gw.InitializeAsync();

    public Task DisposeAsync() => gw.DisposeAsync();

    [Fact]
    public async Task A_slow_client_is_disconnected_and_publishers_never_wait()
    {
        using var http = gw.Client(gw.AdminKey);
        using var response = await http.GetAsync("/api/v1/events/stream?types=bulk.data", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Never read: once the socket buffers are full the server cannot write, and the client's queue of 4 overflows.
        var payload = new string('x', 64 * 1024);
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < 600; i++)
            {
                await gw.Bus.PublishAsync(CloudEvent.Create("/test", "bulk.data", "s", DateTimeOffset.UnixEpoch, new { payload }));
            }
        });
        await publishing.WaitAsync(TimeSpan.FromSeconds(30));

        // The stream ends (with an overflow notice) instead of holding the events.
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);
        var text = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("event: stream.overflow", text, StringComparison.Ordinal);
        Assert.True(text.Split("event: bulk.data").Length - 1 < 600, "the slow client got every event; it should have been cut off");
    }
}
