from scaling_ops.navigation import navigation_for, shell_links


def tenancy(request):
    membership = getattr(request, "membership", None)
    organization = getattr(request, "organization", None)
    return {
        "organization": organization,
        "membership": membership,
        "navigation": navigation_for(request, membership),
        "shell_links": shell_links(organization.slug) if organization else {},
    }
