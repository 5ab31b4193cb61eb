namespace Autonomic.Agents.Security.Detectors;

/// <summary>
/// The failures of one source for one threshold rule, with fail2ban's maxretry/findtime semantics: a ban when the
/// failures within the last findtime seconds reach maxretry. Two counts are kept and either bans:
/// the exact sliding window (the last maxretry failures lie within findtime of each other), and fail2ban's own
/// ticket (<c>FailTicket.adjustTime</c>: once the failures span more than findtime, the count is rescaled to the
/// rate over the known interval, rounded half to even as Python does, and the interval start moves to now − findtime),
/// so every source fail2ban would ban is banned here too. Events may arrive out of time order.
/// </summary>
public sealed class FailureWindow(int maxRetry, TimeSpan findTime)
{
    private readonly double[] _ring = new double[maxRetry];
    private readonly Queue<string> _evidence = new();
    private readonly double _findTime = findTime.TotalSeconds;
    private int _filled;
    private int _next;
    // fail2ban's ticket.
    private bool _hasTicket;
    private double _first;
    private double _last;
    private long _retry;

    /// <summary>Counts one failure at <paramref name="time"/>; true when the source is to be banned.</summary>
    public bool Add(DateTimeOffset time)
    {
        double t = time.ToUnixTimeMilliseconds() / 1000.0;
        _ring[_next] = t;
        _next = (_next + 1) % _ring.Length;
        _filled = Math.Min(_filled + 1, _ring.Length);
        bool window = false;
        if (_filled == _ring.Length)
        {
            double min = double.MaxValue, max = double.MinValue;
            foreach (var x in _ring)
            {
                min = Math.Min(min, x);
                max = Math.Max(max, x);
            }

            window = max - min < _findTime;
        }

        if (!_hasTicket || _last <= t - _findTime)
        {
            // A new ticket (fail2ban's cleanup drops tickets whose last failure is older than findtime).
            _hasTicket = true;
            _first = t;
            _last = t;
            _retry = 1;
        }
        else
        {
            if (t > _last)
            {
                if (_first < t - _findTime)
                {
                    _retry = (long)Math.Round(_retry / (t - _first) * _findTime, MidpointRounding.ToEven);
                    _first = t - _findTime;
                }

                _last = t;
            }

            _retry++;
        }

        return window || _retry >= _ring.Length;
    }

    /// <summary>Keeps <paramref name="line"/> among the last <paramref name="keep"/> lines of evidence.</summary>
    public void Remember(string line, int keep)
    {
        _evidence.Enqueue(line);
        while (_evidence.Count > keep)
        {
            _evidence.Dequeue();
        }
    }

    public IReadOnlyList<string> Evidence() => [.. _evidence];

    public bool IdleLongerThanFindTime(DateTimeOffset now) => _hasTicket && _last <= now.ToUnixTimeMilliseconds() / 1000.0 - _findTime;
}
