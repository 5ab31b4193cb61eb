using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;

namespace Autonomic.Gateway.Dashboard;

/// <summary>
/// Serves the built dashboard: its files as static files, and <c>index.html</c> for every other path that is not
/// under <c>/api</c> (the app routes in the browser, so <c>/services/web</c> is a page). The files are anonymous; the
/// API behind them still needs a key. Pages carry a strict Content-Security-Policy: everything from this origin only.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>The policy of the dashboard's pages: no inline script or style, nothing from another origin.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    /// <summary>Adds the static files middleware and the index fallback; call before authorization.</summary>
    public static WebApplication UseAutonomicDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetService<DashboardOptions>() ?? new DashboardOptions();
        var root = Path.GetFullPath(options.WebRoot);
        if (Directory.Exists(root))
        {
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new PhysicalFileProvider(root),
                ContentTypeProvider = new FileExtensionContentTypeProvider(),
                OnPrepareResponse = file =>
                {
                    AddSecurityHeaders(file.Context.Response);
                    // Vite names assets by content hash: they never change under one name.
                    file.Context.Response.Headers.CacheControl = file.Context.Request.Path.StartsWithSegments("/assets")
                        ? "public, max-age=31536000, immutable"
                        : "no-cache";
                },
            });
        }

        app.MapFallback("{*path:nonfile}", (HttpContext context) => ServeIndex(context, root)).AllowAnonymous();
        return app;
    }

    private static IResult ServeIndex(HttpContext context, string root)
    {
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "no such endpoint", detail: $"this server has no API endpoint at {context.Request.Path}");
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            return Results.Problem(statusCode: StatusCodes.Status405MethodNotAllowed, title: "method not allowed", detail: "the dashboard's pages are read with GET");
        }

        var index = Path.Combine(root, "index.html");
        if (!File.Exists(index))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "dashboard not built",
                detail: "this build has no dashboard: run 'make build' (it needs Node.js and npm), or use the API and the CLI");
        }

        AddSecurityHeaders(context.Response);
        context.Response.Headers.CacheControl = "no-cache";
        return Results.File(index, "text/html; charset=utf-8");
    }

    private static void AddSecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }
}
