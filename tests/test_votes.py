import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skdec import (
    ClusterLabelMapper,
    aggregate_votes,
    dawid_skene,
    read_workflow_answers,
    read_zooniverse_export,
    simulate_volunteers,
)
from skdec._votes import ZOONIVERSE_COLUMNS

EXPORT = Path(__file__).parent / "data" / "zooniverse_export.csv"
HEADER = "classification_id,user_name,subject_ids,annotations\n"


def _y(n=600, n_classes=5, seed=0):
    return np.random.RandomState(seed).randint(0, n_classes, n)


# ---------------------------------------------------------------- simulation
def test_simulate_volunteers_shape_and_reproducible():
    y = _y(50)
    a = simulate_volunteers(y, 6, 3, accuracy=0.7, random_state=1)
    b = simulate_volunteers(y, 6, 3, accuracy=0.7, random_state=1)
    c = simulate_volunteers(y, 6, 3, accuracy=0.7, random_state=2)
    for key in ("subject", "volunteer", "label"):
        np.testing.assert_array_equal(a[key], b[key])
        assert a[key].shape == (150,)
    assert not np.array_equal(a["label"], c["label"])
    # each subject is seen by 3 different volunteers
    for s in range(50):
        assert np.unique(a["volunteer"][a["subject"] == s]).size == 3
    assert a["confusion"].shape == (6, 5, 5)


def test_simulate_volunteers_accuracy_matches():
    y = _y(4000, 4)
    votes = simulate_volunteers(y, 10, 2, accuracy=0.7, random_state=0)
    correct = votes["label"] == y[votes["subject"]]
    assert correct.mean() == pytest.approx(0.7, abs=0.02)
    perfect = simulate_volunteers(y, 10, 2, accuracy=1.0, random_state=0)
    np.testing.assert_array_equal(perfect["label"], y[perfect["subject"]])


def test_simulate_volunteers_per_volunteer_skill_and_confusion():
    y = _y(3000, 2)
    votes = simulate_volunteers(y, 2, 2, accuracy=[1.0, 0.5], random_state=0)
    good = votes["volunteer"] == 0
    assert (votes["label"][good] == y[votes["subject"][good]]).all()
    bad = ~good
    assert (votes["label"][bad] == y[votes["subject"][bad]]).mean() < 0.6
    # a volunteer who always answers 1
    conf = np.array([[0.0, 1.0], [0.0, 1.0]])
    votes = simulate_volunteers(y, 3, 1, confusion=conf, random_state=0)
    assert (votes["label"] == 1).all()


def test_simulate_volunteers_subjects_subset_and_errors():
    y = _y(20)
    votes = simulate_volunteers(y, 4, 2, subjects=[3, 7], random_state=0)
    assert set(votes["subject"].tolist()) == {3, 7}
    with pytest.raises(ValueError, match="exceeds n_volunteers"):
        simulate_volunteers(y, 2, 3)
    with pytest.raises(ValueError, match=r"subjects\[1\]=20"):
        simulate_volunteers(y, 4, 2, subjects=[3, 20])
    with pytest.raises(ValueError, match="confusion has shape"):
        simulate_volunteers(y, 4, 2, confusion=np.eye(3))


# ---------------------------------------------------------------- aggregation
def test_majority_votes_ties_and_alignment():
    votes = {
        "subject": [10, 10, 10, 11, 11, 12, 12],
        "volunteer": ["a", "b", "c", "a", "b", "a", "b"],
        "label": [1, 1, 0, 0, 1, 2, 2],
    }
    agg = aggregate_votes(votes, "majority")
    np.testing.assert_array_equal(agg.subjects, [10, 11, 12])
    np.testing.assert_array_equal(agg.labels, [1, 0, 2])  # tie -> smallest
    np.testing.assert_allclose(agg.confidence, [2 / 3, 1 / 2, 1])
    np.testing.assert_array_equal(agg.n_votes, [3, 2, 2])
    aligned = aggregate_votes(votes, "majority", subjects=[12, 13, 10, 11])
    np.testing.assert_array_equal(aligned.labels, [2, -1, 1, 0])
    np.testing.assert_allclose(aligned.confidence, [1, 0, 2 / 3, 1 / 2])
    assert aligned.n_unvoted == 1
    np.testing.assert_allclose(aligned.proba.sum(axis=1), 1)


@pytest.mark.parametrize("model", ["full", "one-coin"])
def test_dawid_skene_beats_majority_with_a_spammer_majority(model):
    # 2 good volunteers and 3 who answer at random: majority is fooled often,
    # Dawid-Skene learns who to trust.
    y = _y(400, 3, seed=1)
    acc = [0.95, 0.95, 1 / 3, 1 / 3, 1 / 3]
    votes = simulate_volunteers(y, 5, 5, accuracy=acc, random_state=0)
    maj = aggregate_votes(votes, "majority")
    ds = aggregate_votes(votes, "dawid-skene", model=model)
    acc_maj = (maj.labels == y).mean()
    acc_ds = (ds.labels == y).mean()
    assert acc_ds > acc_maj + 0.05
    assert acc_ds > 0.9
    diag = np.diagonal(ds.confusion, axis1=1, axis2=2).mean(axis=1)
    assert diag[:2].min() > 0.85 and diag[2:].max() < 0.6
    np.testing.assert_allclose(ds.confusion.sum(axis=2), 1)
    assert ds.converged
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        dawid_skene(votes, max_iter=2, model=model)


def test_dawid_skene_string_labels_and_volunteers():
    votes = {
        "subject": ["s1", "s1", "s2", "s2", "s3", "s3"],
        "volunteer": ["x", "y", "x", "y", "x", "y"],
        "label": ["cat", "cat", "dog", "dog", "cat", "dog"],
    }
    ds = dawid_skene(votes)
    assert list(ds.classes) == ["cat", "dog"]
    assert list(ds.volunteers) == ["x", "y"]
    agg = aggregate_votes(votes, "dawid-skene", subjects=["s1", "s2", "s3", "s4"])
    assert list(agg.labels[:2]) == ["cat", "dog"] and agg.labels[3] == -1


@pytest.mark.parametrize(
    "votes, subjects, err, match",
    [
        ({"subject": [0], "volunteer": [0]}, None, TypeError, "columns"),
        ({"subject": [], "volunteer": [], "label": []}, None, ValueError, "empty"),
        (
            {"subject": [0, 1], "volunteer": [0], "label": [1, 1]},
            None,
            ValueError,
            "different lengths",
        ),
        (
            {"subject": [0, 9], "volunteer": [0, 0], "label": [1, 1]},
            [0, 1],
            ValueError,
            "row 1 is for subject 9",
        ),
        (
            {"subject": [0, 1], "volunteer": [0, 0], "label": [1.0, np.nan]},
            None,
            ValueError,
            "NaN.*row 1",
        ),
    ],
)
def test_bad_votes(votes, subjects, err, match):
    with pytest.raises(err, match=match):
        aggregate_votes(votes, subjects=subjects)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 4), st.integers(0, 3)),
        min_size=1,
        max_size=40,
    )
)
def test_majority_is_a_mode_of_each_subject(rows):
    subject, volunteer, label = map(np.array, zip(*rows))
    table = {"subject": subject, "volunteer": volunteer, "label": label}
    agg = aggregate_votes(table, "majority")
    for s, lab, conf in zip(agg.subjects, agg.labels, agg.confidence):
        mine = label[subject == s]
        values, counts = np.unique(mine, return_counts=True)
        assert lab == values[counts == counts.max()].min()
        assert conf == pytest.approx(counts.max() / mine.size)
    # renaming volunteers never changes majority
    renamed = aggregate_votes(
        {"subject": subject, "volunteer": volunteer + 100, "label": label}, "majority"
    )
    np.testing.assert_array_equal(renamed.labels, agg.labels)


def test_aggregated_votes_feed_the_mapper():
    y = np.repeat([0, 1, 2], 20)
    clusters = np.repeat([2, 0, 1], 20)
    votes = simulate_volunteers(
        y, 5, 3, accuracy=0.8, subjects=np.arange(0, 60, 4), random_state=0
    )
    agg = aggregate_votes(votes, "dawid-skene", subjects=np.arange(60))
    mapper = ClusterLabelMapper(fallback="unknown")
    mapper.fit(clusters, agg.labels, sample_weight=agg.confidence)
    assert mapper.mapping_ == {0: 1, 1: 2, 2: 0}
    np.testing.assert_array_equal(mapper.predict(clusters), y)


# ------------------------------------------------------- the default: 'auto'
def _structured_confusion(accuracy, n_classes, pairs, partner_share):
    """Per-volunteer confusions: wrong answers mostly go to a partner class."""
    off = np.full((n_classes, n_classes), (1 - partner_share) / (n_classes - 2))
    for a, b in pairs:
        off[a, b] = off[b, a] = partner_share
    np.fill_diagonal(off, 0)
    off /= off.sum(axis=1, keepdims=True)
    conf = (1 - accuracy)[:, None, None] * off[None]
    conf[:, np.arange(n_classes), np.arange(n_classes)] = accuracy[:, None]
    return conf


def test_auto_is_majority_when_volunteers_are_alike():
    y = _y(800, 5)
    votes = simulate_volunteers(y, 10, 3, accuracy=0.7, random_state=0)
    auto = aggregate_votes(votes, subjects=np.arange(810))
    majority = aggregate_votes(votes, "majority", subjects=np.arange(810))
    assert auto.model == "majority"
    assert set(auto.aicc) == {"equal", "pooled", "one-coin", "crowd-errors", "full"}
    assert min(auto.aicc, key=auto.aicc.get) in ("equal", "pooled")
    for key in ("labels", "confidence", "proba", "n_votes"):
        np.testing.assert_array_equal(auto[key], majority[key])
    assert auto.n_unvoted == 10
    # alike volunteers who confuse classes in pairs: still majority
    conf = _structured_confusion(np.full(10, 0.6), 4, [(0, 1), (2, 3)], 0.8)
    votes = simulate_volunteers(_y(800, 4), 10, 3, confusion=conf, random_state=0)
    assert aggregate_votes(votes).model == "majority"


def test_auto_learns_who_to_trust():
    y = _y(400, 3, seed=1)
    acc = [0.95, 0.95, 1 / 3, 1 / 3, 1 / 3]
    votes = simulate_volunteers(y, 5, 5, accuracy=acc, random_state=0)
    auto = aggregate_votes(votes)
    majority = aggregate_votes(votes, "majority")
    assert auto.model == "one-coin"
    assert (auto.labels == y).mean() > (majority.labels == y).mean() + 0.05
    same = aggregate_votes(votes, "dawid-skene", model="one-coin")
    np.testing.assert_array_equal(auto.labels, same.labels)
    np.testing.assert_allclose(auto.confusion, same.confusion)


def test_auto_learns_class_confusions():
    # volunteers of different skill whose mistakes mostly swap 0<->1, 2<->3
    y = _y(600, 4)
    acc = np.clip(0.55 + 0.35 * np.random.RandomState(1).uniform(-1, 1, 12), 0, 1)
    conf = _structured_confusion(acc, 4, [(0, 1), (2, 3)], 0.8)
    votes = simulate_volunteers(y, 12, 3, confusion=conf, random_state=0)
    auto = aggregate_votes(votes)
    majority = aggregate_votes(votes, "majority")
    assert auto.model == "crowd-errors"
    assert (auto.labels == y).mean() > (majority.labels == y).mean() + 0.1
    # one accuracy per volunteer, the crowd's errors off the diagonal
    off = auto.confusion[:, ~np.eye(4, dtype=bool)].reshape(12, 4, 3)
    shape = off / off.sum(axis=2, keepdims=True)
    np.testing.assert_allclose(shape, shape[:1].repeat(12, axis=0))


def test_auto_takes_full_matrices_when_the_votes_support_them():
    # many votes from few volunteers, one of whom swaps classes 0 and 1
    y = _y(1500, 3)
    conf = np.array([np.eye(3)[[1, 0, 2]]] + [0.7 * np.eye(3) + 0.1] * 3)
    conf[0] = 0.9 * conf[0] + 0.1 / 3
    votes = simulate_volunteers(y, 4, 3, confusion=conf, random_state=0)
    auto = aggregate_votes(votes)
    majority = aggregate_votes(votes, "majority")
    assert auto.model == "full"
    assert (auto.labels == y).mean() > (majority.labels == y).mean() + 0.1


@pytest.mark.parametrize("model", ["pooled", "crowd-errors", "equal"])
def test_dawid_skene_new_models(model):
    y = _y(300, 4)
    votes = simulate_volunteers(y, 6, 3, accuracy=0.8, random_state=0)
    ds = dawid_skene(votes, model=model)
    np.testing.assert_allclose(ds.confusion.sum(axis=2), 1)
    if model != "crowd-errors":  # alike volunteers: one matrix for all
        np.testing.assert_allclose(ds.confusion, ds.confusion[:1].repeat(6, axis=0))
    assert (ds.proba.argmax(axis=1) == y).mean() > 0.9
    expected = {"pooled": 12, "crowd-errors": 6 + 8, "equal": 1}[model] + 3
    assert ds.n_params == expected


def _vote_table(draw_rows):
    subject, volunteer, label = map(np.array, zip(*draw_rows))
    return {"subject": subject, "volunteer": volunteer, "label": label}


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.integers(0, 30), st.integers(0, 4), min_size=2, max_size=20),
    st.data(),
)
def test_auto_keeps_unanimous_votes(consensus, data):
    # every subject's votes agree and every volunteer has given two different
    # answers (a volunteer who only ever gave one answer, with no one else
    # voting on the same subjects, may as well answer at random)
    assume(len(set(consensus.values())) >= 2)
    rows = []
    for s, lab in consensus.items():
        who = data.draw(st.sets(st.integers(0, 5), min_size=1, max_size=4))
        rows += [(s, v, lab) for v in sorted(who)]
    for v in {v for _, v, _ in rows}:
        used = {lab for _, w, lab in rows if w == v}
        if len(used) == 1:
            other = next(s for s, lab in consensus.items() if lab not in used)
            rows.append((other, v, consensus[other]))
    agg = aggregate_votes(_vote_table(rows))
    np.testing.assert_array_equal(agg.labels, [consensus[s] for s in agg.subjects])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=30)
)
def test_auto_is_majority_with_one_vote_a_subject(rows):
    votes = _vote_table([(s, v, lab) for s, (v, lab) in enumerate(rows)])
    auto = aggregate_votes(votes)
    majority = aggregate_votes(votes, "majority")
    assert auto.model == "majority"
    np.testing.assert_array_equal(auto.labels, majority.labels)
    np.testing.assert_array_equal(auto.confidence, majority.confidence)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 4), st.integers(0, 3)),
        min_size=1,
        max_size=40,
        unique_by=lambda r: r[:2],  # one vote per volunteer and subject
    )
)
def test_auto_gives_the_labels_of_the_model_it_chose(rows):
    votes = _vote_table(rows)
    auto = aggregate_votes(votes)
    if auto.aicc:  # else no subject has two volunteers' votes
        assert min(auto.aicc, key=auto.aicc.get) in (
            ("equal", "pooled") if auto.model == "majority" else (auto.model,)
        )
    if auto.model == "majority":
        same = aggregate_votes(votes, "majority")
    else:
        same = aggregate_votes(votes, "dawid-skene", model=auto.model)
    np.testing.assert_array_equal(auto.labels, same.labels)
    np.testing.assert_allclose(auto.confidence, same.confidence)


# ------------------------------------------------------------ Zooniverse export
def test_read_shipped_export():
    with pytest.warns(UserWarning, match="skipped 1 of 12 rows"):
        votes, report = read_zooniverse_export(EXPORT, "T0", return_report=True)
    assert report.n_rows == 12 and report.n_votes == 11 and report.n_skipped == 1
    assert report.skipped[0][1] == "5012" and "T0" in report.skipped[0][2]
    assert votes["subject"].dtype == np.int64 and votes["label"].dtype == np.int64
    np.testing.assert_array_equal(np.unique(votes["subject"]), [1001, 1002, 1003, 1004])
    assert "not-logged-in-3f2a" in votes["volunteer"]
    agg = aggregate_votes(votes)
    np.testing.assert_array_equal(agg.labels, [0, 1, 2, 0])
    with pytest.warns(UserWarning, match="skipped 5 of 12"):
        other = read_zooniverse_export(EXPORT, "T1")
    assert set(other["label"].tolist()) == {"No", "Yes"}


@pytest.mark.parametrize(
    "line, match",
    [
        ('7,ann,101,"[{""task"": ""T0"", ""value"": 1}"', "not valid JSON"),
        ('7,,101,"[{""task"": ""T0"", ""value"": 1}]"', "empty user_name"),
        ('7,ann,,"[{""task"": ""T0"", ""value"": 1}]"', "empty subject_ids"),
        ('7,ann,"101;102","[{""task"": ""T0"", ""value"": 1}]"', "several subject"),
        (
            '7,ann,101,"[{""task"": ""T0"", ""value"": [{""x"": 1, ""tool"": 0}]}]"',
            "drawing marks",
        ),
        ('7,ann,101,"[{""value"": 1}]"', "'task' key"),
        ('7,ann,101,"[{""task"": ""T0""}]"', "no 'value'"),
    ],
)
def test_malformed_export_row_names_line(tmp_path, line, match):
    path = tmp_path / "export.csv"
    good = '6,bob,100,"[{""task"": ""T0"", ""value"": 0}]"\n'
    path.write_text(HEADER + good + line + "\n")
    with pytest.raises(ValueError, match=rf"line 3 \(classification_id '7'\).*{match}"):
        read_zooniverse_export(path, "T0")
    with pytest.warns(UserWarning, match="skipped 1 of 2 rows"):
        votes, report = read_zooniverse_export(
            path, "T0", on_error="skip", return_report=True
        )
    assert votes["subject"].tolist() == [100] and report.skipped[0][0] == 3


def test_export_missing_columns_and_no_answers(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("classification_id,user_name,annotations\n1,a,[]\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['subject_ids'\]"):
        read_zooniverse_export(path, "T0")
    with pytest.warns(UserWarning, match="skipped"):
        with pytest.raises(ValueError, match="no answer to task 'T9'"):
            read_zooniverse_export(EXPORT, "T9")


# ------------------------------------------- real export columns, all task kinds
COLUMNS = list(ZOONIVERSE_COLUMNS)


def _export(path, classifications):
    """Write ``classifications`` (dicts: user, subject, annotations and any
    column to override) as a Zooniverse classification export, with every
    column of a real one."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for i, c in enumerate(classifications):
            metadata = {
                "source": "api",
                "session": "abc",
                "viewport": {"width": 1280, "height": 800},
                "started_at": "2024-05-01T10:00:00.000Z",
                "user_agent": "Mozilla/5.0",
                "utc_offset": "0",
                "finished_at": "2024-05-01T10:00:09.000Z",
                "live_project": True,
                "user_language": "en",
                "subject_dimensions": [{"clientWidth": 400, "naturalWidth": 800}],
                "subject_selection_state": {
                    "retired": False,
                    "selected_at": "2024-05-01T09:59:58.000Z",
                    "already_seen": c.get("seen_before", False),
                    "selection_state": "normal",
                    "finished_workflow": False,
                    "user_has_finished_workflow": False,
                },
            }
            if c.get("seen_before"):
                metadata["seen_before"] = True
            sid = str(c["subject"])
            writer.writerow(
                {
                    "classification_id": 500_000 + i,
                    "user_name": c["user"],
                    "user_id": 1000 + i,
                    "user_ip": "2c61b2f7b8fa4a51bde4",
                    "workflow_id": c.get("workflow_id", 21),
                    "workflow_name": "Camera traps",
                    "workflow_version": c.get("workflow_version", "12.3"),
                    "created_at": "2024-05-01 10:00:09 UTC",
                    "gold_standard": c.get("gold_standard", ""),
                    "expert": c.get("expert", ""),
                    "metadata": json.dumps(metadata),
                    "annotations": json.dumps(c["annotations"]),
                    "subject_data": json.dumps({sid: {"retired": None, "#row": sid}}),
                    "subject_ids": sid,
                }
            )
    return path


def _task(task, value, label="Which animals do you see?"):
    return {"task": task, "task_label": label, "value": value}


def _survey(*choices):
    return [
        {
            "choice": c,
            "answers": {"HOWMANY": "1", "BEHAVIOR": ["STANDING"]},
            "filters": {},
        }  # fmt: skip
        for c in choices
    ]


def test_export_reads_single_and_multiple_answer_questions(tmp_path):
    path = _export(
        tmp_path / "e.csv",
        [
            {"user": "ann", "subject": 1, "annotations": [_task("T0", 1),
                                                           _task("T1", [2, 0])]},
            {"user": "bob", "subject": 1, "annotations": [_task("T0", 1),
                                                           _task("T1", [0])]},
            {"user": "cat", "subject": 2, "annotations": [_task("T0", 0),
                                                           _task("T1", [])]},
        ],
    )  # fmt: skip
    single = read_zooniverse_export(path, "T0")
    assert single["label"].tolist() == [1, 1, 0]
    with pytest.warns(UserWarning, match="skipped 1 of 3"):  # nothing chosen
        multiple, report = read_zooniverse_export(path, "T1", return_report=True)
    assert multiple["label"].tolist() == ["0+2", "0"] and report.kind == "multiple"
    names = {0: "Smooth", 1: "Featured", 2: "Artifact"}
    named = read_zooniverse_export(path, "T0", answers=names)
    assert named["label"].tolist() == ["Featured", "Featured", "Smooth"]
    with pytest.warns(UserWarning):
        combined = read_zooniverse_export(path, "T1", answers=names)
    assert combined["label"].tolist() == ["Artifact+Smooth", "Smooth"]
    with pytest.raises(ValueError, match=r"line 2 .*answer 1 is not in the answer"):
        read_zooniverse_export(path, "T0", answers={0: "Smooth"})


def test_export_reads_survey_tasks(tmp_path):
    path = _export(
        tmp_path / "e.csv",
        [
            {
                "user": "ann",
                "subject": 7,
                "annotations": [_task("T0", _survey("ZEBRA"))],
            },
            {
                "user": "bob",
                "subject": 7,
                "annotations": [_task("T0", _survey("ZEBRA", "LION"))],
            },
            {"user": "cat", "subject": 8, "annotations": [_task("T0", [])]},
            {
                "user": "dan",
                "subject": 8,
                "annotations": [_task("T0", _survey("NTHNGHR"))],
            },
        ],
    )
    with pytest.warns(UserWarning, match="skipped 1 of 4"):
        votes, report = read_zooniverse_export(path, "T0", return_report=True)
    assert votes["label"].tolist() == ["ZEBRA", "LION+ZEBRA", "NTHNGHR"]
    assert report.kind == "survey" and votes["subject"].tolist() == [7, 7, 8]
    assert votes["survey_answers"][1]["LION"] == {
        "HOWMANY": "1",
        "BEHAVIOR": ["STANDING"],
    }
    names = {"ZEBRA": "Zebra", "LION": "Lion", "NTHNGHR": "Nothing here"}
    with pytest.warns(UserWarning):
        named = read_zooniverse_export(path, "T0", answers=names)
    assert named["label"].tolist() == ["Zebra", "Lion+Zebra", "Nothing here"]
    agg = aggregate_votes(named, "majority")
    assert agg.labels.tolist() == ["Lion+Zebra", "Nothing here"]  # ties: smallest


def test_export_filters_workflows_repeats_and_experts(tmp_path):
    rows = [
        {"user": "ann", "subject": 1, "annotations": [_task("T0", 0)]},
        {"user": "ann", "subject": 1, "annotations": [_task("T0", 1)],
         "seen_before": True},
        {"user": "bob", "subject": 1, "annotations": [_task("T0", 0)],
         "workflow_version": "13.1"},
        {"user": "cat", "subject": 1, "annotations": [_task("T0", 0)],
         "workflow_id": 99},
        {"user": "sci", "subject": 1, "annotations": [_task("T0", 2)],
         "gold_standard": "True"},
        {"user": "exp", "subject": 1, "annotations": [_task("T0", 2)],
         "expert": "true"},
    ]  # fmt: skip
    path = _export(tmp_path / "e.csv", rows)

    def users(**kwargs):
        with pytest.warns(UserWarning):
            votes, report = read_zooniverse_export(
                path, "T0", return_report=True, **kwargs
            )
        return votes["volunteer"].tolist(), [r for *_, r in report.skipped]

    volunteers, reasons = users()
    assert volunteers == ["ann", "bob", "cat"]  # repeat, gold standard, expert out
    assert (
        reasons
        == ["seen before (a repeat classification)"] + ["gold standard or expert"] * 2
    )
    assert users(repeats="keep")[0] == ["ann", "ann", "bob", "cat"]
    assert users(experts="only")[0] == ["sci", "exp"]
    assert users(experts="include")[0] == ["ann", "bob", "cat", "sci", "exp"]
    assert users(workflow_id=21)[0] == ["ann", "bob"]
    assert users(workflow_id="21", workflow_version="12.3")[0] == ["ann"]
    assert users(workflow_version="13")[0] == ["bob"]
    assert "another workflow version" in users(workflow_version="12")[1]


def test_export_errors_name_the_file_and_row(tmp_path):
    path = _export(
        tmp_path / "e.csv",
        [
            {"user": "ann", "subject": 1, "annotations": [_task("T0", 0)]},
            {"user": "bob", "subject": 1,
             "annotations": [_task("T1", [{"x": 3.5, "y": 2, "tool": 0}])]},
        ],
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"e\.csv, line 3 .*'T1'.*drawing marks"):
        read_zooniverse_export(path, "T1")
    with pytest.warns(UserWarning):
        with pytest.raises(ValueError, match=r"no answer to task 'T7' \(its rows "):
            read_zooniverse_export(path, "T7", on_error="skip")


def _workflows(path, versions):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["workflow_id", "display_name", "version", "active", "first_task",
             "primary_language", "tasks", "strings", "minor_version"]
        )  # fmt: skip
        for workflow, version, minor, tasks, strings in versions:
            writer.writerow(
                [workflow, "Classify", version, True, "T0", "en",
                 json.dumps(tasks), json.dumps(strings), minor]
            )  # fmt: skip
    return path


def test_workflow_answers_from_a_workflows_export(tmp_path):
    question = {
        "T0": {
            "help": "T0.help",
            "type": "single",
            "answers": [
                {"label": "T0.answers.0.label"},
                {"label": "T0.answers.1.label"},
            ],
            "question": "T0.question",
            "required": True,
        },
        "T1": {
            "type": "survey",
            "choices": {
                "ZEBRA": {"label": "T1.choices.ZEBRA.label"},
                "LION": {"label": "T1.choices.LION.label"},
            },
        },
        "T2": {
            "type": "drawing",
            "tools": [{"type": "point", "label": "T2.tools.0.label"}],
        },
    }
    old = {"T0.answers.0.label": "Round", "T0.answers.1.label": "Disk"}
    new = {
        "T0.answers.0.label": "Smooth",
        "T0.answers.1.label": "Features or disk",
        "T1.choices.ZEBRA.label": "Zebra",
        "T1.choices.LION.label": "Lion",
    }
    path = _workflows(
        tmp_path / "workflows.csv",
        [(21, 12, 3, question, old), (21, 12, 10, question, new),
         (22, 1, 1, {"T0": {"type": "single", "answers": [{"label": "Yes"}]}}, {})],
    )  # fmt: skip
    assert read_workflow_answers(path, "T0", workflow_id=21) == {
        "0": "Smooth",
        "1": "Features or disk",
    }  # the latest version (12.10 > 12.3: versions compare as numbers)
    assert (
        read_workflow_answers(path, "T0", workflow_id=21, workflow_version="12.3")["1"]
        == "Disk"
    )
    assert read_workflow_answers(path, "T1", workflow_id=21) == {
        "ZEBRA": "Zebra",
        "LION": "Lion",
    }
    # labels kept in the tasks themselves (older exports)
    assert read_workflow_answers(path, "T0", workflow_id=22) == {"0": "Yes"}
    with pytest.raises(ValueError, match="holds the workflows 21, 22"):
        read_workflow_answers(path, "T0")
    with pytest.raises(ValueError, match=r"line 3: the workflow has no task 'T9'"):
        read_workflow_answers(path, "T9", workflow_id=21)
    with pytest.raises(ValueError, match="'drawing' task, not a question"):
        read_workflow_answers(path, "T2", workflow_id=21)


CONTENTS_COLUMNS = ["id", "workflow_id", "language", "created_at", "updated_at",
                    "current_version_number", "version", "strings"]  # fmt: skip


def _workflow_contents(path, versions):
    """A workflow contents export: ``(workflow, version, language, strings)``
    rows, in Zooniverse's columns."""
    stamp = "2017-03-02 11:20:06 UTC"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CONTENTS_COLUMNS)
        for i, (workflow, version, language, strings) in enumerate(versions):
            writer.writerow(
                [100 + i, workflow, language, stamp, stamp, version, version,
                 json.dumps(strings)]
            )  # fmt: skip
    return path


def test_workflow_answers_from_a_workflow_contents_export(tmp_path):
    tasks = {
        "T0": {
            "type": "single",
            "question": "T0.question",
            "answers": [
                {"label": "T0.answers.0.label"},
                {"label": "T0.answers.1.label"},
            ],
        },
        "T1": {
            "type": "survey",
            "choices": {
                "ZEBRA": {"label": "T1.choices.ZEBRA.label"},
                "LION": {"label": "T1.choices.LION.label"},
            },
        },
    }
    # the tasks changed at 12 (contents 3); the texts alone at contents 10
    workflows = _workflows(
        tmp_path / "workflows.csv",
        [(21, 11, 2, tasks, {}), (21, 12, 3, tasks, {}), (21, 12, 10, tasks, {})],
    )

    def strings(smooth, zebra):
        return {
            "T0.question": "Shape?",
            "T0.answers.0.label": smooth,
            "T0.answers.1.label": "Features or disk",
            "T1.choices.ZEBRA.label": zebra,
            "T1.choices.LION.label": "Lion",
        }

    contents = _workflow_contents(
        tmp_path / "workflow_contents.csv",
        [(21, 2, "en", strings("Round", "Zebra")),
         (21, 3, "en", strings("Smooth", "Zebra")),
         (21, 10, "fr", strings("Lisse", "Zèbre")),
         (21, 10, "en", strings("Smooth (no features)", "Zebra")),
         (22, 10, "en", strings("Other", "Other"))],
    )  # fmt: skip
    assert read_workflow_answers(workflows, "T0", contents=contents) == {
        "0": "Smooth (no features)",
        "1": "Features or disk",
    }  # the latest version, 12.10: contents 10, in English
    assert read_workflow_answers(workflows, "T1", contents=contents) == {
        "ZEBRA": "Zebra",
        "LION": "Lion",
    }
    names = read_workflow_answers(
        workflows, "T0", workflow_version="12.3", contents=contents
    )
    assert names["0"] == "Smooth"
    names = read_workflow_answers(
        workflows, "T0", workflow_version="11", contents=contents
    )
    assert names["0"] == "Round"  # 11.2: contents version 2
    # one language (not English) is the one taken
    french = _workflow_contents(
        tmp_path / "fr.csv", [(21, 10, "fr", strings("Lisse", "Zèbre"))]
    )
    assert read_workflow_answers(workflows, "T1", contents=french)["ZEBRA"] == "Zèbre"
    # no row for the version: the file and the versions it holds
    other = _workflows(tmp_path / "w9.csv", [(21, 12, 9, tasks, {})])
    with pytest.raises(
        ValueError,
        match=r"workflow_contents\.csv holds no contents version 9 of workflow "
        r"21 .*its versions: 2, 3, 10\.",
    ):
        read_workflow_answers(other, "T0", contents=contents)
    other = _workflows(tmp_path / "w23.csv", [(23, 1, 1, tasks, {})])
    with pytest.raises(ValueError, match="holds no contents of workflow 23"):
        read_workflow_answers(other, "T0", contents=contents)
    # keys whose texts are in neither file
    with pytest.raises(
        ValueError,
        match=r"line 4: task 'T0' names its answers by keys such as "
        r"'T0\.answers\.0\.label'.*pass the workflow contents export",
    ):
        read_workflow_answers(workflows, "T0")
    partial = _workflow_contents(
        tmp_path / "partial.csv", [(21, 10, "en", {"T0.question": "Shape?"})]
    )
    with pytest.raises(ValueError, match=r"partial\.csv: the strings .* lack"):
        read_workflow_answers(workflows, "T0", contents=partial)
    with pytest.raises(ValueError, match="has tasks: is it the workflow contents"):
        read_workflow_answers(workflows, "T0", contents=workflows)
    # a malformed row: the file and its line
    bad = _workflow_contents(tmp_path / "bad.csv", [(21, "ten", "en", {})])
    with pytest.raises(ValueError, match=r"bad\.csv, line 2: version 'ten' is not"):
        read_workflow_answers(workflows, "T0", contents=bad)
    listed = _workflow_contents(tmp_path / "list.csv", [(21, 10, "en", ["Smooth"])])
    with pytest.raises(ValueError, match=r"list\.csv, line 2: strings is not a JSON"):
        read_workflow_answers(workflows, "T0", contents=listed)
