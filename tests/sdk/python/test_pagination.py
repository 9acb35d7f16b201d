"""Listing: auto-pagination in both directions, cursors and filters."""

import pytest
import stripe

from support import advance


def create_many(client, n, **params):
    """n top-ups, oldest first. amount defaults to 100 + index."""
    out = []
    for i in range(n):
        p = {"amount": 100 + i, "currency": "usd"}
        p.update(params)
        out.append(client.v1.topups.create(p).id)
    return out


def test_auto_paging_iter_walks_every_page_once(client, recorder):
    ids = create_many(client, 23)

    first = client.v1.topups.list({"limit": 5})
    seen = [t.id for t in first.auto_paging_iter()]

    # Newest first, no duplicates, no gaps.
    assert seen == list(reversed(ids))
    pages = recorder.requests_to("get", "/v1/topups")
    assert len(pages) == 5, "23 top-ups at 5 a page is 5 pages"
    # Each following page asked for starting_after = last id of the previous one.
    assert "starting_after=" + ids[-5] in pages[1].url


def test_auto_paging_with_an_exact_multiple_of_the_page_size(client):
    ids = create_many(client, 9)
    seen = [t.id for t in client.v1.topups.list({"limit": 3}).auto_paging_iter()]
    assert seen == list(reversed(ids))


def test_auto_paging_backwards_with_ending_before(client, recorder):
    ids = create_many(client, 17)  # ids[16] is the newest

    # Everything newer than ids[3], walked towards the newest.
    page = client.v1.topups.list({"limit": 4, "ending_before": ids[3]})
    assert [t.id for t in page.data] == [ids[7], ids[6], ids[5], ids[4]]
    assert page.has_more is True

    seen = [t.id for t in page.auto_paging_iter()]
    # stripe-python yields each page reversed: oldest to newest.
    assert seen == ids[4:]
    assert len(recorder.requests_to("get", "/v1/topups")) >= 4


def test_ending_before_pages_by_hand(client):
    ids = create_many(client, 7)

    page = client.v1.topups.list({"limit": 3, "ending_before": ids[0]})
    assert [t.id for t in page.data] == [ids[3], ids[2], ids[1]]
    assert page.has_more is True

    page = client.v1.topups.list({"limit": 3, "ending_before": ids[3]})
    assert [t.id for t in page.data] == [ids[6], ids[5], ids[4]]
    assert page.has_more is False

    page = client.v1.topups.list({"limit": 3, "ending_before": ids[6]})
    assert page.data == []
    assert page.has_more is False


def test_starting_after_the_oldest_is_empty(client):
    ids = create_many(client, 2)
    page = client.v1.topups.list({"starting_after": ids[0]})
    assert page.data == [] and page.has_more is False


def test_limit_bounds(client):
    create_many(client, 3)
    assert len(client.v1.topups.list({"limit": 1}).data) == 1
    assert len(client.v1.topups.list({"limit": 100}).data) == 3


def test_status_filter(client):
    ids = create_many(client, 4)
    client.v1.topups.cancel(ids[1])
    client.v1.topups.cancel(ids[3])

    canceled = client.v1.topups.list({"status": "canceled"})
    pending = client.v1.topups.list({"status": "pending"})
    succeeded = client.v1.topups.list({"status": "succeeded"})

    assert [t.id for t in canceled.data] == [ids[3], ids[1]]
    assert [t.id for t in pending.data] == [ids[2], ids[0]]
    assert succeeded.data == []
    assert all(t.status == "canceled" for t in canceled.data)


def test_status_filter_with_auto_paging(client):
    ids = create_many(client, 12)
    for tu in ids[::2]:
        client.v1.topups.cancel(tu)
    seen = [t.id for t in client.v1.topups.list({"status": "canceled", "limit": 2}).auto_paging_iter()]
    assert seen == list(reversed(ids[::2]))


def test_amount_filters(client):
    ids = create_many(client, 6)  # amounts 100..105

    def amounts(params):
        return sorted(t.amount for t in client.v1.topups.list(params).data)

    assert amounts({"amount": 102}) == [102]
    assert amounts({"amount": {"gte": 103}}) == [103, 104, 105]
    assert amounts({"amount": {"gt": 103}}) == [104, 105]
    assert amounts({"amount": {"lt": 102}}) == [100, 101]
    assert amounts({"amount": {"lte": 102}}) == [100, 101, 102]
    assert amounts({"amount": {"gte": 101, "lt": 104}}) == [101, 102, 103]
    assert amounts({"amount": 999}) == []
    assert len(ids) == 6


def test_created_filters_on_a_frozen_clock(client):
    """The manual clock stands still, so every top-up shares one `created`."""
    ids = create_many(client, 3)
    created = client.v1.topups.retrieve(ids[0]).created

    def listed(params):
        return [t.id for t in client.v1.topups.list(params).data]

    newest_first = list(reversed(ids))
    assert listed({"created": created}) == newest_first
    assert listed({"created": {"gte": created}}) == newest_first
    assert listed({"created": {"lte": created}}) == newest_first
    assert listed({"created": {"gt": created}}) == []
    assert listed({"created": {"lt": created}}) == []
    assert listed({"created": created + 1}) == []


def test_created_filters_across_clock_advances(client):
    a = client.v1.topups.create({"amount": 1, "currency": "usd"})
    advance(client, 100)
    b = client.v1.topups.create({"amount": 2, "currency": "usd"})
    advance(client, 100)
    c = client.v1.topups.create({"amount": 3, "currency": "usd"})
    assert b.created == a.created + 100
    assert c.created == a.created + 200

    def listed(params):
        return [t.id for t in client.v1.topups.list(params).data]

    assert listed({"created": {"gte": b.created}}) == [c.id, b.id]
    assert listed({"created": {"gt": b.created}}) == [c.id]
    assert listed({"created": {"lt": b.created}}) == [a.id]
    assert listed({"created": {"lte": b.created}}) == [b.id, a.id]
    assert listed({"created": b.created}) == [b.id]
    assert listed({"created": {"gt": a.created, "lt": c.created}}) == [b.id]


def test_filters_combine_with_cursors(client):
    ids = create_many(client, 8, amount=500)
    others = create_many(client, 3, amount=7)
    page = client.v1.topups.list({"amount": 500, "limit": 3, "starting_after": ids[5]})
    assert [t.id for t in page.data] == [ids[4], ids[3], ids[2]]
    assert page.has_more is True
    assert not set(others) & {t.id for t in page.data}


def test_list_is_per_account(make_client):
    a, b = make_client(), make_client()
    create_many(a, 3)
    create_many(b, 2)
    assert len(a.v1.topups.list().data) == 3
    assert len(b.v1.topups.list().data) == 2


@pytest.mark.parametrize("params,param,message", [
    ({"limit": 0}, "limit", "This value must be greater than or equal to 1."),
    ({"limit": 101}, "limit", "This value must be less than or equal to 100."),
    ({"status": "reversed"}, "status",
     "Invalid status: must be one of canceled, failed, pending, or succeeded"),
    ({"starting_after": "tu_doesnotexist"}, "starting_after", "No such topup: 'tu_doesnotexist'"),
    ({"ending_before": "tu_doesnotexist"}, "ending_before", "No such topup: 'tu_doesnotexist'"),
])
def test_bad_list_params(client, params, param, message):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.topups.list(params)
    err = e.value
    assert err.http_status == 400
    assert err.param == param
    assert err.user_message == message
    assert err.error.type == "invalid_request_error"
    assert err.request_id.startswith("req_")


def test_both_cursors_are_refused(client):
    ids = create_many(client, 2)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.topups.list({"starting_after": ids[0], "ending_before": ids[1]})
    assert e.value.http_status == 400
    assert e.value.user_message == (
        "Received both starting_after and ending_before parameters. Please pass in only one."
    )


def test_expanding_a_field_of_the_list_itself_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.topups.list({"expand": ["balance_transaction"]})
    assert e.value.http_status == 400
    assert "data.balance_transaction" in e.value.user_message
