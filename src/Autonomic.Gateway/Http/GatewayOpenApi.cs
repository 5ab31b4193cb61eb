using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Autonomic.Gateway.Http;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>. Every operation that needs a key also documents the answers the
/// pipeline may give before its handler runs: 401, 403, 429 (and 413 where a body is read), all problem documents.
/// </summary>
internal static class GatewayOpenApi
{
    public const string DocumentPath = "/openapi/{documentName}.json";

    public static IServiceCollection AddGatewayOpenApi(this IServiceCollection services)
    {
        services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo { Title = "Autonomic API", Version = "v1", Description = "The control plane's HTTP API. Send an API key as 'Authorization: Bearer ak_...' or 'X-Api-Key'." };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "An API key: ak_ID_SECRET" };
                return Task.CompletedTask;
            });
            // The instance lists add "quarantined": true to a quarantined instance (InstanceViews).
            o.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonTypeInfo.Type == typeof(Core.Model.InstanceRecord))
                {
                    schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
                    schema.Properties["quarantined"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Description = "Present (true) while the instance is quarantined: running, but out of its load balancer" };
                }

                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                operation.Responses ??= new OpenApiResponses();
                if (metadata.OfType<IAuthorizeData>().Any())
                {
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", context.Document)] = [] }];
                    Add(operation, StatusCodes.Status401Unauthorized, "No API key, or an unknown, wrong or revoked one");
                    Add(operation, StatusCodes.Status403Forbidden, "The key's role is too low for this call");
                    Add(operation, StatusCodes.Status429TooManyRequests, "The key's rate limit is spent; see Retry-After");
                }

                if (context.Description.HttpMethod is "POST" or "PUT" or "PATCH" or "DELETE")
                {
                    Add(operation, StatusCodes.Status413PayloadTooLarge, "The body is over the size limit");
                    Add(operation, StatusCodes.Status503ServiceUnavailable, "The state store, audit log or bus failed");
                }

                return Task.CompletedTask;
            });
        });
        return services;
    }

    private static void Add(OpenApiOperation operation, int status, string description)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.ContainsKey(key))
        {
            return;
        }

        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new OpenApiMediaType() },
        };
    }

    /// <summary>Serves the document anonymously: it describes the API, it holds no data.</summary>
    public static IEndpointRouteBuilder MapGatewayOpenApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapOpenApi(DocumentPath).AllowAnonymous().ExcludeFromDescription();
        return endpoints;
    }
}
