using System.Net.Sockets;
using Autonomic.Traffic;

namespace Autonomic.Cli.Load;

/// <summary>Settings of one load run.</summary>
public sealed record LoadOptions
{
    public required Uri Target { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Length of a reporting window.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Requests in flight beyond this are not sent and count as dropped (protects the client machine).</summary>
    public int MaxInFlight { get; init; } = 5000;
}

/// <summary>
/// An open-loop load generator: requests start when the schedule says, whether or not earlier ones have been
/// answered (a closed loop would slow down with the server and hide its queueing). Each request is fired and
/// forgotten with its own timeout; results are grouped into windows by the time they were due.
/// </summary>
public sealed class LoadGenerator(LoadOptions options, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, WindowCounts> _windows = [];
    private readonly WindowCounts _total = new();
    private int _inFlight;

    /// <summary>Called for every finished request (from thread-pool threads).</summary>
    public Action<LoadResult>? OnResult { get; init; }

    /// <summary>Called with each window once all its requests have ended (or timed out).</summary>
    public Action<LoadWindow>? OnWindow { get; init; }

    /// <summary>Runs <paramref name="profile"/> to its end, waits for the last answers, and reports.</summary>
    public async Task<LoadReport> RunAsync(LoadProfile profile, CancellationToken cancellationToken = default)
    {
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = options.Timeout,
        };
        using var client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        var pending = new List<Task>();
        long start = _time.GetTimestamp();
        long sent = 0;
        long reportedWindows = 0;
        long total = (long)Math.Round(profile.TotalRequests);
        while (sent < total && !cancellationToken.IsCancellationRequested)
        {
            TimeSpan now = _time.GetElapsedTime(start);
            long due = Math.Min(total, (long)Math.Floor(profile.DueBy(now)));
            while (sent < due)
            {
                sent++;
                // Stamped with when it was due, not when this loop got to it: a stalled generator catches up within
                // the window the schedule put the request in.
                TimeSpan stamp = profile.DueAt(sent);
                if (Volatile.Read(ref _inFlight) >= options.MaxInFlight)
                {
                    Record(new LoadResult(stamp, TimeSpan.Zero, LoadOutcome.Dropped, 0, null, "too many in flight"));
                    continue;
                }

                Interlocked.Increment(ref _inFlight);
                pending.Add(SendAsync(client, stamp, cancellationToken));
            }

            if (pending.Count > 4096)
            {
                pending.RemoveAll(t => t.IsCompleted);
            }

            reportedWindows = ReportClosed(now - options.Timeout - TimeSpan.FromSeconds(1), reportedWindows);
            if (now >= profile.Duration)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(1), _time, cancellationToken).ConfigureAwait(false);
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        TimeSpan end = _time.GetElapsedTime(start);
        ReportClosed(end + options.Window, reportedWindows);
        lock (_lock)
        {
            var windows = _windows.OrderBy(w => w.Key).Select(w => w.Value.ToWindow(w.Key * options.Window.TotalSeconds, options.Window.TotalSeconds)).ToList();
            return new LoadReport(options.Target.ToString(), profile.Description, windows, _total.ToWindow(0, profile.Duration.TotalSeconds));
        }
    }

    private long ReportClosed(TimeSpan before, long reported)
    {
        if (OnWindow is null)
        {
            return reported;
        }

        long closed = (long)Math.Floor(before / options.Window);
        for (; reported < closed; reported++)
        {
            LoadWindow? window = null;
            lock (_lock)
            {
                if (_windows.TryGetValue(reported, out var counts))
                {
                    window = counts.ToWindow(reported * options.Window.TotalSeconds, options.Window.TotalSeconds);
                }
            }

            if (window is not null)
            {
                OnWindow(window);
            }
        }

        return reported;
    }

    private async Task SendAsync(HttpClient client, TimeSpan sentAt, CancellationToken cancel)
    {
        // Yield first so the scheduler loop never waits on a connect.
        await Task.Yield();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(options.Timeout);
        long begin = _time.GetTimestamp();
        LoadResult result;
        try
        {
            using var response = await client.GetAsync(options.Target, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            string? instance = response.Headers.TryGetValues(ServiceLoadBalancer.InstanceHeader, out var values) ? values.FirstOrDefault() : null;
            result = new LoadResult(sentAt, _time.GetElapsedTime(begin), status is >= 200 and < 400 ? LoadOutcome.Ok : LoadOutcome.Error, status, instance, null);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            result = new LoadResult(sentAt, _time.GetElapsedTime(begin), LoadOutcome.Timeout, 0, null, "timeout");
        }
        catch (HttpRequestException ex)
        {
            string reason = ex.InnerException is SocketException se ? se.SocketErrorCode.ToString() : ex.HttpRequestError.ToString();
            result = new LoadResult(sentAt, _time.GetElapsedTime(begin), LoadOutcome.Error, 0, null, reason);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Decrement(ref _inFlight);
            return;
        }

        Interlocked.Decrement(ref _inFlight);
        Record(result);
    }

    private void Record(LoadResult result)
    {
        long index = (long)Math.Floor(result.SentAt / options.Window);
        lock (_lock)
        {
            if (!_windows.TryGetValue(index, out var counts))
            {
                _windows[index] = counts = new WindowCounts();
            }

            counts.Add(result);
            _total.Add(result);
        }

        OnResult?.Invoke(result);
    }

    private sealed class WindowCounts
    {
        private readonly LatencyHistogram _latency = new();
        private long _sent;
        private long _ok;
        private long _errors;
        private long _timeouts;
        private long _dropped;

        public void Add(LoadResult r)
        {
            _sent++;
            switch (r.Outcome)
            {
                case LoadOutcome.Ok:
                    _ok++;
                    break;
                case LoadOutcome.Error:
                    _errors++;
                    break;
                case LoadOutcome.Timeout:
                    _timeouts++;
                    break;
                default:
                    _dropped++;
                    return;
            }

            _latency.Record(r.Latency.TotalMilliseconds);
        }

        public LoadWindow ToWindow(double start, double seconds) => new(
            start, seconds, _sent, _ok, _errors, _timeouts, _dropped,
            _latency.Percentile(0.50), _latency.Percentile(0.95), _latency.Percentile(0.99));
    }
}
