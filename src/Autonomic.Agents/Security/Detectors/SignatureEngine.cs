using System.Buffers;
using System.Globalization;
using Autonomic.Agents.Security.Rules;
using Autonomic.Agents.Security.Sources;
using Autonomic.Core.Security;

namespace Autonomic.Agents.Security.Detectors;

/// <summary>What the signature rules made of one event.</summary>
/// <param name="Class">The attack class of the first match rule that matched, or <c>scanner</c> for a request from a
/// source a threshold rule marked as a scanner, or null.</param>
/// <param name="Rule">The rule that gave the class.</param>
/// <param name="Attributed">True when the class comes from the source's mark, not from the event itself.</param>
public readonly record struct Classification(string? Class, string? Rule, bool Attributed);

/// <summary>
/// Runs a <see cref="RulePack"/> over events: match rules classify each event (literals searched with vectorized
/// <see cref="SearchValues{T}"/>, regular expressions only where a rule has one and its literals matched first), and
/// threshold rules count the matching events per source with fail2ban's maxretry/findtime semantics
/// (<see cref="FailureWindow"/>). Alerts go to the list passed in. Deterministic; time comes from the events. Not
/// thread-safe: one engine per input stream, or a lock around it.
/// </summary>
public sealed class SignatureEngine
{
    private static readonly TimeSpan MatchAlertCooldown = TimeSpan.FromMinutes(1);
    private const int EvidenceLines = 10;

    private readonly List<CompiledMatch> _matches = [];
    private readonly List<CompiledThreshold> _thresholds = [];
    private readonly Dictionary<string, DateTimeOffset> _marked = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Rule, string Source), DateTimeOffset> _lastMatchAlert = [];
    private long _alerts;

    public SignatureEngine(RulePack pack)
    {
        Pack = pack;
        foreach (var rule in pack.Rules)
        {
            if (rule.Kind == "match")
            {
                _matches.Add(new CompiledMatch(rule));
            }
            else
            {
                _thresholds.Add(new CompiledThreshold(rule));
            }
        }
    }

    public RulePack Pack { get; }

    /// <summary>Sources marked as scanners, with the event time until which the mark holds.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Marked => _marked;

    /// <summary>Classifies <paramref name="evt"/>, updates the thresholds, and appends any alerts.</summary>
    public Classification Observe(LogEvent evt, List<SecurityAlert> alerts)
    {
        var result = Classify(evt);
        // An instance's own log line has no client address: its match alerts are about the instance.
        var source = evt.SourceIp;
        if (source is null && evt.Instance is null)
        {
            return result;
        }

        if (result.Class is not null && !result.Attributed)
        {
            var key = (result.Rule!, source ?? "instance:" + evt.Instance);
            if (!_lastMatchAlert.TryGetValue(key, out var last) || evt.Time - last >= MatchAlertCooldown)
            {
                _lastMatchAlert[key] = evt.Time;
                if (_lastMatchAlert.Count > 100_000)
                {
                    _lastMatchAlert.Clear();
                }

                var rule = _matches.First(m => m.Rule.Id == result.Rule).Rule;
                alerts.Add(NewAlert(rule, evt, source, $"{rule.Class}: {Describe(evt)}", [evt.Line]));
            }
        }

        if (source is null)
        {
            return result;
        }

        foreach (var t in _thresholds)
        {
            if (!t.Counts(evt, result.Class))
            {
                continue;
            }

            var window = t.Window(source);
            bool ban = false;
            for (int i = 0; i < evt.Count && !ban; i++)
            {
                ban = window.Add(evt.Time);
            }

            window.Remember(evt.Line, EvidenceLines);
            if (ban)
            {
                var rule = t.Rule;
                var evidence = window.Evidence();
                t.Forget(source);
                alerts.Add(NewAlert(rule, evt, source,
                    $"{rule.MaxRetry} {string.Join('/', rule.On)} events from {source} within {Seconds(rule.FindTime)}",
                    evidence));
                if (rule.Marks == "scanner")
                {
                    _marked[source] = evt.Time + TimeSpan.FromHours(1);
                }
            }

            t.Sweep(evt.Time);
        }

        return result;
    }

    /// <summary>The class the match rules give <paramref name="evt"/>, without touching any threshold.</summary>
    public Classification Classify(LogEvent evt)
    {
        string? decoded = null;
        foreach (var m in _matches)
        {
            if (m.Matches(evt, ref decoded))
            {
                return new Classification(m.Rule.Class, m.Rule.Id, false);
            }
        }

        if (evt.SourceIp is { } ip && evt.Is(LogEventKind.Request) && _marked.TryGetValue(ip, out var until) && evt.Time <= until)
        {
            return new Classification("scanner", "marked-source", true);
        }

        return default;
    }

    private SecurityAlert NewAlert(SecurityRule rule, LogEvent evt, string? source, string reason, IReadOnlyList<string> evidence) => new()
    {
        Id = $"{evt.Time.ToUnixTimeMilliseconds():x}-{++_alerts:x}-{rule.Id}",
        Time = evt.Time,
        Rule = rule.Id,
        Class = rule.Class,
        Severity = rule.Severity,
        SourceIp = source,
        KeyId = evt.KeyId,
        Subject = evt.Origin,
        Instance = evt.Instance,
        Response = rule.Response,
        Reason = reason,
        Evidence = evidence,
    };

    private static string Describe(LogEvent e) => e.Target is { } t ? $"{e.Method} {Truncate(t, 200)}" : Truncate(e.Message ?? e.Line, 200);

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n] + "…";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>URL-decodes (twice, for double encoding) when there is anything to decode.</summary>
    internal static string Decode(string text)
    {
        if (text.AsSpan().IndexOfAny('%', '+') < 0)
        {
            return text;
        }

        var s = text.Replace('+', ' ');
        for (int i = 0; i < 2 && s.Contains('%', StringComparison.Ordinal); i++)
        {
            try
            {
                s = Uri.UnescapeDataString(s);
            }
            catch (UriFormatException)
            {
                break;
            }
        }

        return s;
    }

    private sealed class CompiledMatch
    {
        private readonly SearchValues<string>? _any;
        private readonly LogEventKind _kinds;
        private readonly HashSet<int> _status;

        public CompiledMatch(SecurityRule rule)
        {
            Rule = rule;
            _any = rule.Any.Count > 0 ? SearchValues.Create([.. rule.Any], StringComparison.OrdinalIgnoreCase) : null;
            _status = [.. rule.Status];
            foreach (var o in rule.On)
            {
                _kinds |= ParseKind(o);
            }
        }

        public SecurityRule Rule { get; }

        public bool Matches(LogEvent evt, ref string? decodedTarget)
        {
            if (_kinds != LogEventKind.None && !evt.Is(_kinds))
            {
                return false;
            }

            if (_status.Count > 0 && !_status.Contains(evt.Status))
            {
                return false;
            }

            if (_any is null && Rule.Regex is null)
            {
                return true;
            }

            string? text = Field(evt, ref decodedTarget);
            if (text is null)
            {
                return false;
            }

            if (_any is not null && text.AsSpan().IndexOfAny(_any) < 0)
            {
                return false;
            }

            try
            {
                return Rule.Regex is null || Rule.Regex.IsMatch(text);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                return false;
            }
        }

        private string? Field(LogEvent evt, ref string? decodedTarget)
        {
            switch (Rule.Field)
            {
                case "target":
                    return evt.Target is null ? null : decodedTarget ??= Decode(evt.Target);
                case "path":
                    {
                        if (evt.Target is null)
                        {
                            return null;
                        }

                        var full = decodedTarget ??= Decode(evt.Target);
                        int q = full.IndexOf('?', StringComparison.Ordinal);
                        return q < 0 ? full : full[..q];
                    }

                case "query":
                    {
                        if (evt.Target is null)
                        {
                            return null;
                        }

                        var full = decodedTarget ??= Decode(evt.Target);
                        int q = full.IndexOf('?', StringComparison.Ordinal);
                        return q < 0 ? null : full[(q + 1)..];
                    }

                case "user_agent":
                    return evt.UserAgent;
                case "method":
                    return evt.Method;
                case "message":
                    return evt.Message;
                case "status":
                    return evt.Status.ToString(CultureInfo.InvariantCulture);
                default:
                    return evt.Line;
            }
        }
    }

    internal static LogEventKind ParseKind(string on) => on switch
    {
        "auth_failure" => LogEventKind.AuthFailure,
        "invalid_user" => LogEventKind.InvalidUser,
        "auth_success" => LogEventKind.AuthSuccess,
        "request" => LogEventKind.Request,
        "error" => LogEventKind.Error,
        _ => LogEventKind.None,
    };

    private sealed class CompiledThreshold
    {
        private readonly LogEventKind _kinds;
        private readonly HashSet<int> _status = [];
        private readonly HashSet<string> _classes = new(StringComparer.Ordinal);
        private readonly bool _anyClass;
        private readonly Dictionary<string, FailureWindow> _windows = new(StringComparer.Ordinal);
        private DateTimeOffset _nextSweep;

        public CompiledThreshold(SecurityRule rule)
        {
            Rule = rule;
            foreach (var o in rule.On)
            {
                if (o.StartsWith("status:", StringComparison.Ordinal))
                {
                    _status.Add(int.Parse(o.AsSpan(7), CultureInfo.InvariantCulture));
                }
                else if (o == "class:*")
                {
                    _anyClass = true;
                }
                else if (o.StartsWith("class:", StringComparison.Ordinal))
                {
                    _classes.Add(o[6..]);
                }
                else
                {
                    _kinds |= ParseKind(o);
                }
            }
        }

        public SecurityRule Rule { get; }

        public bool Counts(LogEvent evt, string? cls) =>
            (_kinds != LogEventKind.None && evt.Is(_kinds)) ||
            (_status.Count > 0 && evt.Status != 0 && _status.Contains(evt.Status)) ||
            (cls is not null && (_anyClass || _classes.Contains(cls)));

        public FailureWindow Window(string source)
        {
            if (!_windows.TryGetValue(source, out var w))
            {
                w = new FailureWindow(Rule.MaxRetry, Rule.FindTime);
                _windows[source] = w;
            }

            return w;
        }

        public void Forget(string source) => _windows.Remove(source);

        /// <summary>Drops sources idle for longer than findtime, now and then, so memory stays bounded.</summary>
        public void Sweep(DateTimeOffset now)
        {
            if (now < _nextSweep && _windows.Count < 50_000)
            {
                return;
            }

            _nextSweep = now + Rule.FindTime;
            foreach (var (source, w) in _windows)
            {
                if (w.IdleLongerThanFindTime(now))
                {
                    _windows.Remove(source);
                }
            }
        }
    }
}
