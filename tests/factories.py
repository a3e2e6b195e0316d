"""factory_boy factories. Tenant-owned factories need a bound tenant or an explicit
``organization``; they create through the unscoped manager so a test can build data for
several organisations side by side."""

import factory
from django.contrib.auth import get_user_model

from scaling_ops.models import Organization, Site


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    time_zone = "Europe/London"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.dangerously_unscoped.create(*args, **kwargs)


class SiteFactory(TenantFactory):
    class Meta:
        model = Site

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"site{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    status = Site.Status.LIVE
