namespace Autonomic.Core.Abstractions;

/// <summary>
/// The control plane's object stores by name, with the one used when a client names none. Owns the stores:
/// disposing it disposes those that are disposable.
/// </summary>
public sealed class ObjectStores : IAsyncDisposable
{
    private readonly IReadOnlyDictionary<string, IObjectStore> _stores;

    public ObjectStores(IReadOnlyDictionary<string, IObjectStore> stores, string defaultName, long maxUploadBytes = 5L * 1024 * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(stores);
        if (stores.Count > 0 && !stores.ContainsKey(defaultName))
        {
            throw new ArgumentException($"the default object store '{defaultName}' is not one of: {string.Join(", ", stores.Keys)}", nameof(defaultName));
        }

        _stores = new Dictionary<string, IObjectStore>(stores, StringComparer.Ordinal);
        Default = defaultName;
        MaxUploadBytes = maxUploadBytes;
    }

    /// <summary>No stores at all (a gateway started without any).</summary>
    public static ObjectStores Empty { get; } = new(new Dictionary<string, IObjectStore>(), "");

    /// <summary>The name of the store used when none is named.</summary>
    public string Default { get; }

    /// <summary>The largest upload the API accepts.</summary>
    public long MaxUploadBytes { get; }

    /// <summary>The store names in order.</summary>
    public IReadOnlyList<string> Names => _stores.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>The store called <paramref name="name"/>, or null.</summary>
    public IObjectStore? Get(string name) => _stores.GetValueOrDefault(name);

    public async ValueTask DisposeAsync()
    {
        foreach (IObjectStore store in _stores.Values)
        {
            switch (store)
            {
                case IAsyncDisposable a:
                    await a.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable d:
                    d.Dispose();
                    break;
            }
        }
    }
}
