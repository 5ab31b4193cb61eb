using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Autonomic.Core.Scaling;

namespace Autonomic.Traffic;

/// <summary>
/// Request metrics of every load-balanced service: totals by status code, a latency histogram, requests in
/// flight, and a one-second window that becomes a <see cref="TrafficSample"/>. Thread-safe.
/// </summary>
public sealed class TrafficMetrics
{
    /// <summary>Bucket bounds (seconds) of <c>autonomic_lb_request_duration_seconds</c>.</summary>
    public static readonly double[] PrometheusBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<string, ServiceTraffic> _services = new(StringComparer.Ordinal);

    /// <summary>The service's counters, created on first use.</summary>
    public ServiceTraffic For(string service) => _services.GetOrAdd(service, s => new ServiceTraffic(s));

    public IReadOnlyCollection<ServiceTraffic> Services => _services.Values.OrderBy(s => s.Service, StringComparer.Ordinal).ToArray();

    /// <summary>Writes the metrics in the Prometheus text exposition format (HELP and TYPE lines included).</summary>
    public void WritePrometheus(StringBuilder text)
    {
        var services = Services;
        text.Append("# HELP autonomic_lb_requests_total Requests through the load balancer by service and status code (502/503/504 include proxy errors).\n");
        text.Append("# TYPE autonomic_lb_requests_total counter\n");
        foreach (var s in services)
        {
            foreach ((int code, long count) in s.CodesSnapshot())
            {
                text.Append("autonomic_lb_requests_total{service=\"").Append(Escape(s.Service)).Append("\",code=\"")
                    .Append(code.ToString(CultureInfo.InvariantCulture)).Append("\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        text.Append("# HELP autonomic_lb_request_duration_seconds Time from request received to response completed at the load balancer.\n");
        text.Append("# TYPE autonomic_lb_request_duration_seconds histogram\n");
        foreach (var s in services)
        {
            (long[] cumulative, long count, double sumSeconds) = s.PrometheusSnapshot();
            string label = Escape(s.Service);
            for (int i = 0; i < PrometheusBuckets.Length; i++)
            {
                text.Append("autonomic_lb_request_duration_seconds_bucket{service=\"").Append(label).Append("\",le=\"")
                    .Append(PrometheusBuckets[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                    .Append(cumulative[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            text.Append("autonomic_lb_request_duration_seconds_bucket{service=\"").Append(label).Append("\",le=\"+Inf\"} ")
                .Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            text.Append("autonomic_lb_request_duration_seconds_sum{service=\"").Append(label).Append("\"} ")
                .Append(sumSeconds.ToString("0.######", CultureInfo.InvariantCulture)).Append('\n');
            text.Append("autonomic_lb_request_duration_seconds_count{service=\"").Append(label).Append("\"} ")
                .Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        text.Append("# HELP autonomic_lb_in_flight Requests the load balancer is forwarding now.\n");
        text.Append("# TYPE autonomic_lb_in_flight gauge\n");
        foreach (var s in services)
        {
            text.Append("autonomic_lb_in_flight{service=\"").Append(Escape(s.Service)).Append("\"} ")
                .Append(s.InFlight.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}

/// <summary>The counters of one service.</summary>
public sealed class ServiceTraffic(string service)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, long> _codes = [];
    private readonly long[] _promBuckets = new long[TrafficMetrics.PrometheusBuckets.Length];
    private readonly LatencyHistogram _window = new();
    private long _total;
    private double _sumSeconds;
    private long _windowErrors;
    private long _windowArrivals;
    private int _inFlight;

    public string Service { get; } = service;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests completed since start.</summary>
    public long Total
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    public void Started()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _windowArrivals);
    }

    /// <summary>A request finished with <paramref name="status"/> after <paramref name="elapsed"/>.</summary>
    public void Completed(int status, TimeSpan elapsed)
    {
        Interlocked.Decrement(ref _inFlight);
        double seconds = elapsed.TotalSeconds;
        lock (_lock)
        {
            _codes[status] = _codes.GetValueOrDefault(status) + 1;
            _total++;
            _sumSeconds += seconds;
            for (int i = 0; i < _promBuckets.Length; i++)
            {
                if (seconds <= TrafficMetrics.PrometheusBuckets[i])
                {
                    _promBuckets[i]++;
                }
            }

            _window.Record(elapsed.TotalMilliseconds);
            if (status >= 500)
            {
                _windowErrors++;
            }
        }
    }

    /// <summary>Status codes and their counts since start.</summary>
    public IReadOnlyList<(int Code, long Count)> CodesSnapshot()
    {
        lock (_lock)
        {
            return _codes.OrderBy(c => c.Key).Select(c => (c.Key, c.Value)).ToArray();
        }
    }

    internal (long[] Cumulative, long Count, double SumSeconds) PrometheusSnapshot()
    {
        lock (_lock)
        {
            return ((long[])_promBuckets.Clone(), _total, _sumSeconds);
        }
    }

    /// <summary>Turns the window since the last call into a sample covering <paramref name="window"/>, and starts a new window.</summary>
    public TrafficSample TakeSample(DateTimeOffset now, TimeSpan window, int readyReplicas)
    {
        lock (_lock)
        {
            long count = _window.Count;
            double seconds = Math.Max(window.TotalSeconds, 0.001);
            var sample = new TrafficSample(
                Service,
                now,
                // Arrivals, not completions: a saturated service completes only what it can, which would hide the demand.
                RequestsPerSecond: Interlocked.Exchange(ref _windowArrivals, 0) / seconds,
                LatencyMsP50: _window.Percentile(0.50),
                LatencyMsP95: _window.Percentile(0.95),
                ErrorRate: count == 0 ? 0 : (double)_windowErrors / count,
                InFlight: InFlight,
                ReadyReplicas: readyReplicas);
            _window.Clear();
            _windowErrors = 0;
            return sample;
        }
    }
}
