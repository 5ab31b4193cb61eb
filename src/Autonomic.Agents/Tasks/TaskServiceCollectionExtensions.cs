using Autonomic.Core.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Tasks;

/// <summary>Registration of the task API's store side (<see cref="TaskBoard"/>) and of the task agent.</summary>
public static class TaskServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="TaskAgentOptions"/> and <see cref="TaskBoard"/> (needed by the API whether or not this process
    /// runs workers). The board uses the registered <see cref="IDocumentStore"/>, or the state store when it is one.
    /// </summary>
    public static IServiceCollection AddTaskBoard(this IServiceCollection services, TaskAgentOptions? options = null)
    {
        services.TryAddSingleton(options ?? new TaskAgentOptions());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new TaskBoard(
            DocumentsOf(sp) ?? throw new InvalidOperationException("tasks need a document store, and none is configured"),
            sp.GetRequiredService<IEventBus>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<TaskAgentOptions>()));
        return services;
    }

    /// <summary>
    /// Registers the task agent as a hosted service, with <see cref="TaskBoard"/>. Targets come from the container when
    /// registered: <see cref="IObjectStore"/> (store <c>default</c>), <see cref="IFunctionInvoker"/>,
    /// <see cref="IProcessRuntime"/>; <paramref name="objectStores"/> adds named stores. Without a document store the agent
    /// logs why and does nothing, so the rest of the control plane still runs.
    /// </summary>
    public static IServiceCollection AddTaskAgent(this IServiceCollection services, TaskAgentOptions? options = null, IReadOnlyDictionary<string, IObjectStore>? objectStores = null)
    {
        services.AddTaskBoard(options);
        services.TryAddSingleton(sp =>
        {
            var stores = new Dictionary<string, IObjectStore>(StringComparer.Ordinal);
            if (sp.GetService<IObjectStore>() is { } store)
            {
                stores[Core.Tasks.TaskInputs.DefaultStore] = store;
            }

            foreach (var (name, s) in objectStores ?? new Dictionary<string, IObjectStore>())
            {
                stores[name] = s;
            }

            return new TaskTargets
            {
                ObjectStores = stores,
                Functions = sp.GetService<IFunctionInvoker>(),
                Runtime = sp.GetService<IProcessRuntime>(),
            };
        });
        services.TryAddSingleton(sp => new TaskExecutor(sp.GetRequiredService<TaskTargets>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<TaskAgentOptions>()));
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<TaskAgent>(sp));
        // Registered by factory as IHostedService (AddHostedService refuses an interface as the implementation type).
        services.AddSingleton<IHostedService>(sp =>
        {
            if (DocumentsOf(sp) is null)
            {
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<TaskAgent>()
                    .LogError("the task agent needs a document store and none is configured; tasks will not run");
                return new Idle();
            }

            return sp.GetRequiredService<TaskAgent>();
        });
        return services;
    }

    private static IDocumentStore? DocumentsOf(IServiceProvider sp) =>
        sp.GetService<IDocumentStore>() ?? sp.GetService<IStateStore>() as IDocumentStore;

    private sealed class Idle : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
