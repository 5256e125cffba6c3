from django.urls import reverse


def test_the_home_page_renders_in_french_by_default(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "Essayer gratuitement" in response.content.decode()


def test_the_overview_lists_the_merchants_businesses(merchant_client, business):
    response = merchant_client.get(reverse("queues:overview"))
    assert response.status_code == 200
    assert "Boulangerie Martin" in response.content.decode()
