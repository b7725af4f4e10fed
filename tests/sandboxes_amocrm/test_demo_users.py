"""The demo host page and the amoCRM sandbox's `demo` seed name the same users."""
from sandboxes.amocrm.seed import demo_account


def test_demo_host_page_lists_the_seeded_users():
    from widget_api.demo.views import DEMO_USERS

    seeded = {(user.id, user.name, user.email, user.is_admin) for user in demo_account().users.values()}
    assert set(DEMO_USERS) == seeded
