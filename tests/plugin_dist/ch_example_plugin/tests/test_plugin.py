"""The example plugin's own tests: run them with ``pytest`` once the plugin is installed."""

import ch_example_plugin
import pytest

from customer_health import testing

AS_OF = "2026-06-30"


def test_nps_scores_the_mean_answer_against_the_target():
    """Two answers, 9 and 6, against a nonprofit target of 8 score 100 * 7.5 / 8."""
    scorer = testing.make_scorer(ch_example_plugin)
    customer = testing.make_customer("hope", "nonprofit")
    events = [
        testing.make_event("nps_response", "2026-06-01", customer_id="hope", score=9),
        testing.make_event("nps_response", "2026-06-15", customer_id="hope", score=6),
    ]
    nps = scorer.score(customer, events, as_of=AS_OF).factor("nps")
    assert nps.score == pytest.approx(93.75)
    assert nps.value == 7.5
    assert nps.expected == 8


def test_no_responses_is_no_data():
    """A customer without NPS responses has no data for the factor."""
    scorer = testing.make_scorer(ch_example_plugin)
    health = scorer.score(testing.make_customer("c1", "smb"), [], as_of=AS_OF)
    assert health.factor("nps").score is None


def test_nps_keeps_the_factor_contract():
    """The nps factor keeps the contract every factor must keep."""
    scorer = testing.make_scorer(ch_example_plugin)
    customers = [
        testing.make_customer("hope", "nonprofit"),
        testing.make_customer("c1", "smb", created_at="2026-06-20T00:00:00Z"),
    ]
    events = [
        testing.make_event("nps_response", "2026-06-01", customer_id="hope", score=9),
        testing.make_event("nps_response", "2026-06-30", customer_id="hope", score=3),
        testing.make_event("nps_response", "2026-03-01", customer_id="hope", score=0),
        testing.make_event("nps_response", "2026-06-25", customer_id="c1", score=10),
    ]
    testing.check_factor("nps", customers, events, as_of=AS_OF, scorer=scorer)
