using Autonomic.Core.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Autonomic.Backends.Functions;

/// <summary>Registers <see cref="FunctionService"/> as <see cref="IFunctionInvoker"/> and <see cref="IFunctionRegistry"/>.</summary>
public static class FunctionsServiceCollectionExtensions
{
    /// <summary>
    /// Needs an <see cref="IDocumentStore"/> from the host; uses its <see cref="TimeProvider"/> (system by default).
    /// Without a document store the service resolves to null and the API answers 503 "functions not enabled".
    /// </summary>
    public static IServiceCollection AddFunctions(this IServiceCollection services, FunctionsOptions options)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(sp => sp.GetService<IDocumentStore>() is { } store
            ? new FunctionService(store, options, sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<FunctionService>>())
            : null!);
        services.AddSingleton<IFunctionInvoker>(sp => sp.GetService<FunctionService>()!);
        services.AddSingleton<IFunctionRegistry>(sp => sp.GetService<FunctionService>()!);
        return services;
    }
}
