using Autonomic.Core.Abstractions;
using Autonomic.Core.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Backends.Objects;

/// <summary>Builds the <see cref="ObjectStores"/> registry from <see cref="ObjectsSettings"/> and registers it.</summary>
public static class ObjectStoreFactory
{
    /// <summary>
    /// One store per entry of <paramref name="settings"/>. S3 credentials are read from the environment variables
    /// the settings name (through <paramref name="environment"/>); when those are unset, the SDK's own chain applies.
    /// </summary>
    public static ObjectStores Create(ObjectsSettings settings, Func<string, string?> environment, TimeProvider time, ILoggerFactory logs)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(environment);
        var stores = new Dictionary<string, IObjectStore>(StringComparer.Ordinal);
        try
        {
            foreach ((string name, ObjectStoreSpec spec) in settings.Stores)
            {
                stores[name] = spec.Type switch
                {
                    ObjectStoreTypes.Directory => new DirectoryObjectStore(spec.Path, time),
                    ObjectStoreTypes.S3 => new S3ObjectStore(new S3ObjectStoreOptions
                    {
                        ServiceUrl = spec.Url is null ? null : new Uri(spec.Url),
                        Bucket = spec.Bucket ?? throw new ArgumentException($"object store '{name}' has no bucket"),
                        Region = spec.Region,
                        AccessKey = environment(spec.AccessKeyEnv),
                        SecretKey = environment(spec.SecretKeyEnv),
                        ForcePathStyle = spec.ForcePathStyle,
                        CreateBucket = spec.CreateBucket,
                        PartSize = spec.PartSize,
                    }, time, logs.CreateLogger<S3ObjectStore>()),
                    _ => throw new ArgumentException($"object store '{name}' has unknown type '{spec.Type}'; expected one of: {string.Join(", ", ObjectStoreTypes.All)}"),
                };
            }

            return new ObjectStores(stores, settings.Default, settings.MaxUploadBytes);
        }
        catch
        {
            foreach (IDisposable d in stores.Values.OfType<IDisposable>())
            {
                d.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Registers <see cref="ObjectStores"/> (built on first use from <paramref name="settings"/> and the process
    /// environment; disposed with the container) for the objects API.
    /// </summary>
    public static IServiceCollection AddObjectStores(this IServiceCollection services, ObjectsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(sp => Create(
            settings,
            Environment.GetEnvironmentVariable,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILoggerFactory>()));
        return services;
    }

    /// <summary>Registers an existing registry (the caller keeps ownership).</summary>
    public static IServiceCollection AddObjectStores(this IServiceCollection services, ObjectStores stores)
    {
        // A factory registration would make the container dispose it; an instance is left to its owner.
        services.AddSingleton(stores);
        return services;
    }
}
