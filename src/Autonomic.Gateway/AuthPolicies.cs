namespace Autonomic.Gateway;

/// <summary>
/// Authorization policy names for endpoints: <c>.RequireAuthorization(AuthPolicies.Operator)</c>. Roles nest:
/// an admin may do what an operator may, an operator what a viewer may.
/// </summary>
public static class AuthPolicies
{
    /// <summary>Reads.</summary>
    public const string Viewer = "viewer";
    /// <summary>Changes to the fleet, tasks, objects, functions, chaos.</summary>
    public const string Operator = "operator";
    /// <summary>Keys, security responses, settings.</summary>
    public const string Admin = "admin";
}
