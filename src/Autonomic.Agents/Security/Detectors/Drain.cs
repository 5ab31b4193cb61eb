namespace Autonomic.Agents.Security.Detectors;

/// <summary>A log template mined by <see cref="Drain"/>: its tokens (<c>&lt;*&gt;</c> for a variable part) and how many lines matched it.</summary>
public sealed class LogCluster(int id, string[] tokens)
{
    public int Id { get; } = id;
    public string[] Tokens { get; } = tokens;
    public long Size { get; set; } = 1;
    public string Template => string.Join(' ', Tokens);
}

/// <summary>The outcome of adding one line to <see cref="Drain"/>.</summary>
public readonly record struct DrainResult(LogCluster Cluster, bool Created, bool Changed);

/// <summary>
/// Online log template mining with Drain (He, Zhu, Zheng, Lyu: "Drain: An Online Log Parsing Approach with Fixed Depth
/// Tree", ICWS 2017). A line is preprocessed (addresses, numbers and hex masked), split into tokens, and routed through
/// a parse tree of fixed depth: first by its token count, then by its first <c>depth − 2</c> tokens (a token with a
/// digit goes to the wildcard branch, as does any token once a node has <c>maxChildren</c> children). At the leaf, the
/// line joins the cluster whose template is most similar (share of positions with equal tokens) if the similarity
/// reaches <c>similarity</c>, and the template's differing positions become wildcards; otherwise it starts a new cluster.
/// </summary>
public sealed class Drain(int depth = 4, double similarity = 0.4, int maxChildren = 100)
{
    public const string Wildcard = "<*>";
    private readonly Node _root = new();
    private readonly List<LogCluster> _clusters = [];
    private readonly int _prefixDepth = Math.Max(1, depth - 2);

    public IReadOnlyList<LogCluster> Clusters => _clusters;

    private sealed class Node
    {
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);
        public List<LogCluster> Clusters { get; } = [];
    }

    /// <summary>Adds one log message (without its timestamp prefix).</summary>
    public DrainResult Add(string message)
    {
        var tokens = Tokenize(message);
        var leaf = Route(tokens, create: true)!;
        LogCluster? best = null;
        double bestSim = -1;
        int bestParams = -1;
        foreach (var c in leaf.Clusters)
        {
            var (sim, parameters) = Similarity(c.Tokens, tokens);
            if (sim > bestSim || (sim == bestSim && parameters > bestParams))
            {
                best = c;
                bestSim = sim;
                bestParams = parameters;
            }
        }

        if (best is not null && bestSim >= similarity)
        {
            best.Size++;
            bool changed = false;
            for (int i = 0; i < tokens.Length; i++)
            {
                if (best.Tokens[i] != Wildcard && best.Tokens[i] != tokens[i])
                {
                    best.Tokens[i] = Wildcard;
                    changed = true;
                }
            }

            return new DrainResult(best, false, changed);
        }

        var cluster = new LogCluster(_clusters.Count + 1, tokens);
        _clusters.Add(cluster);
        leaf.Clusters.Add(cluster);
        return new DrainResult(cluster, true, false);
    }

    /// <summary>The cluster a message would join, without changing anything; null when it would start a new one.</summary>
    public LogCluster? Match(string message)
    {
        var tokens = Tokenize(message);
        var leaf = Route(tokens, create: false);
        if (leaf is null)
        {
            return null;
        }

        LogCluster? best = null;
        double bestSim = -1;
        foreach (var c in leaf.Clusters)
        {
            var (sim, _) = Similarity(c.Tokens, tokens);
            if (sim > bestSim)
            {
                best = c;
                bestSim = sim;
            }
        }

        return bestSim >= similarity ? best : null;
    }

    private Node? Route(string[] tokens, bool create)
    {
        var key = tokens.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!_root.Children.TryGetValue(key, out var node))
        {
            if (!create)
            {
                return null;
            }

            node = new Node();
            _root.Children[key] = node;
        }

        for (int i = 0; i < _prefixDepth && i < tokens.Length; i++)
        {
            var token = HasDigit(tokens[i]) ? Wildcard : tokens[i];
            if (node.Children.TryGetValue(token, out var next))
            {
                node = next;
                continue;
            }

            if (!create)
            {
                return node.Children.TryGetValue(Wildcard, out var wild) ? wild : null;
            }

            if (node.Children.Count + 1 >= maxChildren && token != Wildcard)
            {
                token = Wildcard;
                if (node.Children.TryGetValue(token, out next))
                {
                    node = next;
                    continue;
                }
            }

            next = new Node();
            node.Children[token] = next;
            node = next;
        }

        return node;
    }

    private static (double Similarity, int Parameters) Similarity(string[] template, string[] tokens)
    {
        if (template.Length == 0)
        {
            return (1, 0);
        }

        int equal = 0, parameters = 0;
        for (int i = 0; i < template.Length; i++)
        {
            if (template[i] == Wildcard)
            {
                parameters++;
            }
            else if (template[i] == tokens[i])
            {
                equal++;
            }
        }

        return ((double)equal / template.Length, parameters);
    }

    private static bool HasDigit(string token) => token.AsSpan().IndexOfAnyInRange('0', '9') >= 0;

    /// <summary>Splits on whitespace and masks what is obviously variable: IP addresses, numbers, hex ids.</summary>
    public static string[] Tokenize(string message)
    {
        var parts = message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            var p = parts[i].AsSpan().Trim("[](),;:'\"");
            if (p.Length > 0 && (IsNumberLike(p) || IsHexId(p)))
            {
                parts[i] = Wildcard;
            }
        }

        return parts;
    }

    private static bool IsNumberLike(ReadOnlySpan<char> p)
    {
        // 123, 1.2.3.4, 10:20:30, -5, 0.25, 1.2.3.4:80
        foreach (var c in p)
        {
            if (!(char.IsAsciiDigit(c) || c is '.' or ':' or '-' or '/' or '=' && p.IndexOfAnyInRange('0', '9') >= 0))
            {
                return false;
            }
        }

        return p.IndexOfAnyInRange('0', '9') >= 0;
    }

    private static readonly System.Buffers.SearchValues<char> Hex = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    private static bool IsHexId(ReadOnlySpan<char> p) =>
        (p.Length >= 8 && p.IndexOfAnyExcept(Hex) < 0) || (p.StartsWith("0x") && p.Length > 2);
}
