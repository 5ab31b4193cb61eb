using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Autonomic.Agents.Security.Sources;
using Autonomic.Core.Security;

namespace Autonomic.Agents.Security.Detectors;

/// <summary>
/// Per-client behaviour scored by an <see cref="IsolationForest"/>: each client's requests are summed per window
/// (request rate, error ratio, distinct paths, bytes, hour of day); the first <see cref="BaselineWindows"/> windows
/// train the forest (seeded, so the same input gives the same verdicts); a later window raises an <c>anomaly</c> alert
/// when its score is above both <see cref="Threshold"/> and every baseline window's score.
/// </summary>
public sealed class ClientAnomalyDetector(TimeSpan window, int baselineWindows = 30, double threshold = 0.6, int seed = 42)
{
    private readonly Dictionary<string, Acc> _current = new(StringComparer.Ordinal);
    private readonly List<double[]> _baseline = [];
    private DateTimeOffset _windowStart;
    private int _windows;
    private long _alerts;

    public int BaselineWindows { get; } = baselineWindows;
    public double Threshold { get; } = threshold;
    public IsolationForest? Forest { get; private set; }

    private sealed class Acc
    {
        public int Requests;
        public int Errors;
        public long Bytes;
        public HashSet<string> Paths = new(StringComparer.Ordinal);
        public string? Example;
    }

    /// <summary>The feature vector of one client window.</summary>
    public static double[] Features(double requestsPerMinute, double errorRatio, int distinctPaths, long bytes, int hour) =>
        [Math.Log(1 + requestsPerMinute), errorRatio, Math.Log(1 + distinctPaths), Math.Log(1 + bytes), hour];

    /// <summary>Adds a request; closes the window first when <paramref name="evt"/> is past it.</summary>
    public void Observe(LogEvent evt, List<SecurityAlert> alerts)
    {
        if (evt.SourceIp is not { } ip || !evt.Is(LogEventKind.Request))
        {
            return;
        }

        if (_windowStart == default)
        {
            _windowStart = evt.Time;
        }

        if (evt.Time >= _windowStart + window)
        {
            Close(alerts);
            _windowStart = evt.Time;
        }

        if (!_current.TryGetValue(ip, out var acc))
        {
            acc = new Acc();
            _current[ip] = acc;
        }

        acc.Requests++;
        acc.Errors += evt.Status >= 400 ? 1 : 0;
        acc.Bytes += evt.Bytes;
        if (acc.Paths.Count < 10_000 && evt.Target is { } t)
        {
            int q = t.IndexOf('?', StringComparison.Ordinal);
            acc.Paths.Add(q < 0 ? t : t[..q]);
        }

        acc.Example ??= evt.Line;
    }

    /// <summary>Ends the current window: trains while in the baseline, scores after.</summary>
    public void Close(List<SecurityAlert> alerts)
    {
        double minutes = window.TotalMinutes;
        foreach (var (ip, acc) in _current)
        {
            var x = Features(acc.Requests / minutes, (double)acc.Errors / acc.Requests, acc.Paths.Count, acc.Bytes, _windowStart.UtcDateTime.Hour);
            if (Forest is null)
            {
                _baseline.Add(x);
                continue;
            }

            double score = Forest.Score(x);
            if (score > Threshold && score > Forest.MaxTrainingScore)
            {
                alerts.Add(new SecurityAlert
                {
                    Id = $"{_windowStart.ToUnixTimeMilliseconds():x}-a{++_alerts:x}-anomaly",
                    Time = _windowStart + window,
                    Rule = "anomaly.isolation-forest",
                    Class = "anomaly",
                    Severity = Severity.Medium,
                    SourceIp = ip,
                    Response = "rate_limit",
                    Reason = string.Create(CultureInfo.InvariantCulture,
                        $"client behaviour unlike the baseline (score {score:0.000}): {acc.Requests} requests, {acc.Errors} errors, {acc.Paths.Count} paths, {acc.Bytes} bytes in {window.TotalSeconds:0} s"),
                    Evidence = acc.Example is null ? [] : [acc.Example],
                });
            }
        }

        _current.Clear();
        if (Forest is null && ++_windows >= BaselineWindows && _baseline.Count > 0)
        {
            Forest = IsolationForest.Train(_baseline, seed: seed);
        }
    }

    /// <summary>Trains directly from feature vectors (for a baseline recorded elsewhere).</summary>
    public void TrainOn(IReadOnlyList<double[]> baseline) => Forest = IsolationForest.Train(baseline, seed: seed);
}

/// <summary>
/// New or rare log templates: one <see cref="Drain"/> per log origin; after a warm-up of <see cref="WarmupLines"/>
/// lines, a line that starts a new template is an anomaly with the line as evidence. At most
/// <see cref="MaxAlertsPerMinute"/> alerts per origin and minute.
/// </summary>
public sealed class TemplateNoveltyDetector(int warmupLines = 500, int maxAlertsPerMinute = 10)
{
    private readonly Dictionary<string, State> _origins = new(StringComparer.Ordinal);
    private long _alerts;

    public int WarmupLines { get; } = warmupLines;
    public int MaxAlertsPerMinute { get; } = maxAlertsPerMinute;

    private sealed class State
    {
        public Drain Drain { get; } = new();
        public long Lines;
        public DateTimeOffset Minute;
        public int InMinute;
    }

    public Drain? DrainOf(string origin) => _origins.TryGetValue(origin, out var s) ? s.Drain : null;

    public void Observe(LogEvent evt, List<SecurityAlert> alerts)
    {
        if (evt.Message is not { Length: > 0 } message)
        {
            return;
        }

        if (!_origins.TryGetValue(evt.Origin, out var state))
        {
            state = new State();
            _origins[evt.Origin] = state;
        }

        state.Lines++;
        var result = state.Drain.Add(message);
        if (!result.Created || state.Lines <= WarmupLines)
        {
            return;
        }

        var minute = new DateTimeOffset(evt.Time.Ticks - evt.Time.Ticks % TimeSpan.TicksPerMinute, evt.Time.Offset);
        if (minute != state.Minute)
        {
            state.Minute = minute;
            state.InMinute = 0;
        }

        if (++state.InMinute > MaxAlertsPerMinute)
        {
            return;
        }

        alerts.Add(new SecurityAlert
        {
            Id = $"{evt.Time.ToUnixTimeMilliseconds():x}-d{++_alerts:x}-novel",
            Time = evt.Time,
            Rule = "drain.novel-template",
            Class = "novel_log",
            Severity = Severity.Low,
            SourceIp = evt.SourceIp,
            Subject = evt.Origin,
            Instance = evt.Instance,
            Reason = $"a log line of a kind not seen before in {evt.Origin} (template {result.Cluster.Id} of {state.Drain.Clusters.Count})",
            Evidence = [evt.Line],
        });
    }
}

/// <summary>
/// API key misuse: a key used from a network (/24 for IPv4, /48 for IPv6) it was not seen from once it has a
/// baseline of <see cref="BaselineRequests"/> requests, or at a rate per minute above <see cref="RateFactor"/> times its
/// average (and above <see cref="MinRate"/>) once it has <see cref="BaselineMinutes"/> minutes of history.
/// </summary>
public sealed class KeyMisuseDetector(int baselineRequests = 20, int baselineMinutes = 5, double rateFactor = 10, int minRate = 120)
{
    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    private long _alerts;

    public int BaselineRequests { get; } = baselineRequests;
    public int BaselineMinutes { get; } = baselineMinutes;
    public double RateFactor { get; } = rateFactor;
    public int MinRate { get; } = minRate;

    private sealed class KeyState
    {
        public HashSet<string> Networks { get; } = new(StringComparer.Ordinal);
        public long Requests;
        public DateTimeOffset Minute;
        public int InMinute;
        public int Minutes;
        public double MeanPerMinute;
        public bool RateAlerted;
    }

    public static string Network(string ip)
    {
        if (!IPAddress.TryParse(ip, out var address))
        {
            return ip;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var bytes = address.GetAddressBytes();
        return address.AddressFamily == AddressFamily.InterNetwork
            ? $"{bytes[0]}.{bytes[1]}.{bytes[2]}.0/24"
            : new IPAddress([.. bytes[..6], .. new byte[10]]) + "/48";
    }

    public void Observe(LogEvent evt, List<SecurityAlert> alerts)
    {
        if (evt.KeyId is not { } key || evt.SourceIp is not { } ip || evt.Status is 401 or 403)
        {
            return;
        }

        if (!_keys.TryGetValue(key, out var s))
        {
            s = new KeyState();
            _keys[key] = s;
        }

        var network = Network(ip);
        if (s.Networks.Add(network) && s.Requests >= BaselineRequests)
        {
            alerts.Add(Alert(evt, key, ip, $"key {key} used from {network}, a network it was not used from in {s.Requests} earlier requests"));
        }

        s.Requests++;
        var minute = new DateTimeOffset(evt.Time.Ticks - evt.Time.Ticks % TimeSpan.TicksPerMinute, evt.Time.Offset);
        if (minute != s.Minute)
        {
            if (s.Minute != default)
            {
                s.MeanPerMinute = (s.MeanPerMinute * s.Minutes + s.InMinute) / (s.Minutes + 1);
                s.Minutes++;
            }

            s.Minute = minute;
            s.InMinute = 0;
            s.RateAlerted = false;
        }

        s.InMinute++;
        if (!s.RateAlerted && s.Minutes >= BaselineMinutes && s.InMinute > MinRate && s.InMinute > RateFactor * s.MeanPerMinute)
        {
            s.RateAlerted = true;
            alerts.Add(Alert(evt, key, ip, string.Create(CultureInfo.InvariantCulture,
                $"key {key} made {s.InMinute} requests this minute, over {RateFactor:0}× its average of {s.MeanPerMinute:0.0} a minute")));
        }
    }

    private SecurityAlert Alert(LogEvent evt, string key, string ip, string reason) => new()
    {
        Id = $"{evt.Time.ToUnixTimeMilliseconds():x}-k{++_alerts:x}-key",
        Time = evt.Time,
        Rule = "key-misuse",
        Class = "key_misuse",
        Severity = Severity.High,
        SourceIp = ip,
        KeyId = key,
        Response = "suspend_key",
        Reason = reason,
        Evidence = [evt.Line],
    };
}
