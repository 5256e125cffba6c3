"""JSON API of accounts and businesses (mounted under /api/v1/)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from waitify.api import AuthTokenThrottle
from waitify.lib.errors import WaitifyError


class CredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=128)


class AuthTokenView(APIView):
    """Exchange an e-mail and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthTokenThrottle]

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: inline_serializer("AuthToken", {"token": serializers.CharField()})},
    )
    def post(self, request):
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request, email=credentials.validated_data["email"],
                            password=credentials.validated_data["password"])
        if user is None:
            raise WaitifyError(_("Wrong e-mail or password."), code=401,
                               error="invalid_credentials", status=401)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


urlpatterns: list = []
