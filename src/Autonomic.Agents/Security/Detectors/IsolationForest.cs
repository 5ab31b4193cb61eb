namespace Autonomic.Agents.Security.Detectors;

/// <summary>
/// Isolation forest (Liu, Ting, Zhou, ICDM 2008): random trees split random features at random values; points that
/// are isolated in few splits are anomalies. The score is <c>2^(−E[h(x)] / c(ψ))</c>, near 1 for anomalies and at most
/// about 0.5 for normal points. Deterministic for a given <c>seed</c>. Immutable once trained; scoring is thread-safe.
/// </summary>
public sealed class IsolationForest
{
    private readonly Tree[] _trees;
    private readonly double _c;

    private IsolationForest(Tree[] trees, int sampleSize)
    {
        _trees = trees;
        _c = AveragePathLength(sampleSize);
    }

    /// <summary>The highest score of a training point: a point scoring above it is less normal than all of the baseline.</summary>
    public double MaxTrainingScore { get; private set; }

    private sealed record Tree(int Feature, double Split, Tree? Left, Tree? Right, int Size);

    /// <summary>Trains on <paramref name="data"/> (rows of equal length).</summary>
    public static IsolationForest Train(IReadOnlyList<double[]> data, int trees = 100, int sampleSize = 256, int seed = 42)
    {
        ArgumentOutOfRangeException.ThrowIfZero(data.Count);
        var random = new Random(seed);
        int psi = Math.Min(sampleSize, data.Count);
        int maxDepth = (int)Math.Ceiling(Math.Log2(Math.Max(2, psi)));
        var forest = new Tree[trees];
        var indices = new int[data.Count];
        for (int t = 0; t < trees; t++)
        {
            for (int i = 0; i < indices.Length; i++)
            {
                indices[i] = i;
            }

            // Partial Fisher–Yates: the first psi indices are a sample without replacement.
            for (int i = 0; i < psi; i++)
            {
                int j = random.Next(i, indices.Length);
                (indices[i], indices[j]) = (indices[j], indices[i]);
            }

            forest[t] = Build(data, indices[..psi], 0, maxDepth, random);
        }

        var model = new IsolationForest(forest, psi);
        model.MaxTrainingScore = data.Max(model.Score);
        return model;
    }

    private static Tree Build(IReadOnlyList<double[]> data, int[] rows, int depth, int maxDepth, Random random)
    {
        if (depth >= maxDepth || rows.Length <= 1)
        {
            return new Tree(-1, 0, null, null, rows.Length);
        }

        int features = data[rows[0]].Length;
        // Try features in random order until one varies among these rows.
        int start = random.Next(features);
        for (int k = 0; k < features; k++)
        {
            int f = (start + k) % features;
            double min = double.MaxValue, max = double.MinValue;
            foreach (var r in rows)
            {
                min = Math.Min(min, data[r][f]);
                max = Math.Max(max, data[r][f]);
            }

            if (max > min)
            {
                double split = min + random.NextDouble() * (max - min);
                var left = rows.Where(r => data[r][f] < split).ToArray();
                var right = rows.Where(r => data[r][f] >= split).ToArray();
                return new Tree(f, split, Build(data, left, depth + 1, maxDepth, random), Build(data, right, depth + 1, maxDepth, random), rows.Length);
            }
        }

        return new Tree(-1, 0, null, null, rows.Length);
    }

    /// <summary>The anomaly score of <paramref name="point"/>, in (0, 1].</summary>
    public double Score(double[] point)
    {
        double total = 0;
        foreach (var tree in _trees)
        {
            total += PathLength(tree, point, 0);
        }

        return Math.Pow(2, -(total / _trees.Length) / _c);
    }

    private static double PathLength(Tree node, double[] x, int depth)
    {
        while (node.Feature >= 0)
        {
            node = x[node.Feature] < node.Split ? node.Left! : node.Right!;
            depth++;
        }

        return depth + AveragePathLength(node.Size);
    }

    /// <summary>c(n): the average path length of an unsuccessful search in a binary search tree of n points.</summary>
    public static double AveragePathLength(int n) => n switch
    {
        <= 1 => 0,
        2 => 1,
        _ => 2 * (Math.Log(n - 1) + 0.5772156649) - 2.0 * (n - 1) / n,
    };
}
