"""A carer's text about a relative who has an illness now (knowledge 2026.12.9, H71).

"My dad has prostate cancer and now his back hurts at night" is about the father: his
cancer is the patient's history, not a family history. A relative's illness beside the
writer's own symptom ("my mum had breast cancer, I have back pain") stays family history.
Sentences written for this test.
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("My dad has prostate cancer and now his back hurts at night", "cancer_history"),
        ("My mother has a known aneurysm and now has sudden back pain", "known_aaa"),
        ("my nan has osteoporosis and since her fall her back is agony", "osteoporosis"),
        ("Mum's had breast cancer. Her back pain is worse at night now", "cancer_history"),
    ],
)
def test_a_relatives_illness_counts_when_the_text_is_about_them(text: str, code: str) -> None:
    assert read_narrative(text, language="en").answers().get(code) is True


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("my mum had breast cancer, I have back pain", "cancer_history"),
        ("mum's had breast cancer, I have back pain", "cancer_history"),
        ("My dad has cancer and my back hurts at night", "cancer_history"),
        ("My dad has prostate cancer", "cancer_history"),
        ("my brother has an aneurysm and I have had back pain for a week", "known_aaa"),
    ],
)
def test_a_relatives_illness_beside_the_writers_own_symptom_is_family_history(
    text: str, code: str
) -> None:
    assert code not in read_narrative(text, language="en").answers()
