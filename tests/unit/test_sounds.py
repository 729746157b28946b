from spacy_rnnlm.sounds import NEAR, OTHER, SAME, Sounds, near_key


def test_sounds_relations_and_alike():
    sounds = Sounds.build("正政在再情请是事号好")
    assert sounds.relation("正", "政") == SAME and sounds.relation("号", "好") == SAME
    assert sounds.relation("是", "四") == NEAR  # shi / si
    assert sounds.relation("年", "连") == NEAR  # nian / lian
    assert sounds.relation("好", "的") == OTHER and sounds.relation("好", "x") == OTHER
    assert "好" in sounds.alike("号") and "号" not in sounds.alike("号")
    # a heteronym's rare readings are left out: 号 (hao) does not sound like 小 (xiao)
    assert "小" not in sounds.alike("号")


def test_sounds_near_key_merges_confusable_initials_and_finals():
    assert near_key("zhang") == near_key("zan") == "zan"
    assert near_key("ning") == near_key("lin")


def test_sounds_round_trip():
    sounds = Sounds.build("")
    again = Sounds.from_dict(sounds.to_dict())
    assert again.readings == sounds.readings and again.alike("政") == sounds.alike("政")
