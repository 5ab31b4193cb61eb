namespace Autonomic.Backends.Bus;

/// <summary>
/// AMQP topic matching over dotted words: <c>*</c> matches exactly one word, <c>#</c> matches zero or more
/// words, any other word matches itself (case-sensitive). Pure; safe from any thread.
/// </summary>
public static class TopicPattern
{
    /// <summary>True when <paramref name="type"/> (e.g. <c>instance.exited</c>) matches <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string type)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(type);
        var p = pattern.Split('.');
        var t = type.Split('.');

        // reachable[j]: the pattern words consumed so far can match the first j words of the type.
        var reachable = new bool[t.Length + 1];
        reachable[0] = true;
        foreach (var word in p)
        {
            var next = new bool[t.Length + 1];
            for (var j = 0; j <= t.Length; j++)
            {
                if (word == "#")
                {
                    // '#' may swallow any number of words, so everything from the first reachable point on is reachable.
                    next[j] = reachable[j] || (j > 0 && next[j - 1]);
                }
                else if (j > 0 && reachable[j - 1] && (word == "*" || word == t[j - 1]))
                {
                    next[j] = true;
                }
            }

            reachable = next;
        }

        return reachable[t.Length];
    }
}
