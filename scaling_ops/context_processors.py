from scaling_ops.navigation import navigation_for


def tenancy(request):
    membership = getattr(request, "membership", None)
    return {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "navigation": navigation_for(request, membership),
    }
