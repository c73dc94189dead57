"""An anonymous tip, often through a web form: short, guarded, third person, written-formal words
(疑似, 不明, 望, 核查), vague about the writer and sometimes about the place (某村, 一带).
"""

from __future__ import annotations

import numpy as np

from simulation.tipvoices import official
from simulation.tipvoices.base import Voice, chance, period, pick, plate_tail, short_name, waste_of

SEEN = {
    "water": ("有人向{river}排放不明液体", "向河道倾倒黑色废液", "在{river}岸边偷排废水", "往灌溉渠里倒桶装液体",
              "河面出现大片油污", "{river}水体发黑发臭", "山塘被倒入不明化学品", "有车辆在{river}桥下放水，水色异常",
              "排洪沟内有人灌入废液，流向{river}"),
    "karst": ("往{cave}内倾倒废液", "岩洞口堆放大量化工桶", "落水洞被灌入不明液体", "地下河出口水质异常",
              "{cave}附近有人卸桶", "天窗内被人倒入废油", "{cave}洞内积有黑色液体"),
    "dump": ("倾倒大量不明固体废物", "丢弃数十个化工桶", "荒地被填埋工业废渣", "山沟内有新倒的油泥",
             "林地里堆放疑似危废", "路边被卸下不明桶装物", "废弃砖厂内有人填埋污泥"),
    "workshop": ("存在无证土法炼油点", "有黑作坊拆解废电池", "一处铁皮房非法收储废油", "有窝点加工危险废物",
                 "一民房内非法提炼废溶剂", "某养殖场改作非法废油加工"),
    "covert": ("{ent}通过暗管偷排", "{ent}废水未经处理外排", "{ent}私设排污口", "{ent}雨水管排出有色废水",
               "{ent}利用渗坑排放废水", "{ent}借雨水沟排放母液"),
    "unlicensed": ("{ent}将危废交无资质个人处置", "{ent}危废去向不明", "{ent}危废转移未办手续", "{ent}废油私下出售",
                   "{ent}与无证单位有交易", "{ent}废料被个体户收走"),
}
ENT_VAGUE = ("某企业", "附近一企业", "一家化工企业", "一工厂")
PLACE = ("{village}附近", "{town}{village}", "{village}一带", "{town}某村", "{county}{town}一带", "{village}",
         "{river}沿岸", "{town}境内", "{where}", "{village}附近", "{town}{village}", "{river}{village}段")
WHEN = {
    "midnight": ("近期夜间", "{md}深夜", "{md}夜间", "深夜"),
    "night": ("近期夜间", "{md}凌晨", "{md}夜间", "深夜"),
    "dawn": ("{md}清晨", "近日清晨"),
    "morning": ("{md}上午", "近日"),
    "noon": ("{md}中午", "近日"),
    "afternoon": ("{md}下午", "近日白天"),
    "dusk": ("{md}傍晚", "近日"),
    "evening": ("{md}晚", "近期晚间", "{md}夜"),
}
CAR = ("一辆货车", "一辆罐车", "一辆无标识车辆", "车辆", "一辆厢式车")
PLATE = ("车牌尾号{t2}", "车牌尾号{t3}", "{head}牌照", "本地牌照")
TAIL = ("请核查。", "望查处。", "不便留名。", "请勿回访。", "请保护举报人。", "情况属实。", "有照片。", "望尽快处理。", "", "")
SHAPES = ("举报：{p}{t}{s}。{car}{tail}", "{p}{s}。{car}{tail}", "{t}{p}多次发现{s}，疑为危险废物。{car}{tail}",
          "反映{p}{s}问题。{car}{tail}", "{s}。{tail}", "线索：{p}，{s}{tt}。{car}{tail}",
          "{p}：{s}（{t}）。{car}{tail}", "有群众看到{p}{s}。{car}{tail}")


def _when(rng: np.random.Generator, hour: float, md: str) -> str:
    return pick(rng, WHEN[period(hour)]).format(md=md)


def _place(rng: np.random.Generator, fill: dict[str, str]) -> str:
    f = dict(fill, where=fill["where"].strip("，。"))
    options = [o for o in PLACE if all(f[k] for k in ("village", "town", "county", "river", "where") if "{" + k + "}" in o)]
    return pick(rng, options or ("某地",)).format(**f)


def event(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str, vehicle: bool,
          plate: str) -> str:
    ent = fill["ent"] and (short_name(fill["ent"]) if chance(rng, 0.3) else fill["ent"])
    seen = pick(rng, SEEN[kind]).format(**dict(fill, ent=ent or pick(rng, ENT_VAGUE)))
    car = ""
    if vehicle:
        car = "涉事" + pick(rng, CAR)
        if plate and chance(rng, 0.6):
            car += "，" + pick(rng, PLATE).format(t2=plate_tail(plate, 2), t3=plate_tail(plate, 3), head=plate[:2])
        car += "。"
    when = _when(rng, hour, md) if chance(rng, 0.7) else ""
    place = _place(rng, fill) if chance(rng, 0.9) else ""
    if place and kind in ("covert", "unlicensed"):
        place += "的"
    slots = {"p": place, "t": when, "tt": f"，时间{when}" if when else "",
             "s": seen, "car": car, "tail": pick(rng, TAIL)}
    return pick(rng, SHAPES).format(**slots)


INSIDER = (
    "知情人反映：{e}{c}。{t}",
    "{e}{c}，内部人员均知情，望严查。{t}",
    "举报{e}：{c}。我是内部的，请勿公开。",
    "{e}长期{c}，相关记录可查。{t}",
    "实名不便，匿名举报{e}，{c}，{d}。{t}",
)
INSIDER_CLAIM = ("台账与实际产生量严重不符", "危废不走联单私下处置", "利用暗管排放生产废水", "夜间偷运危废出厂",
                 "应急池废水经雨水口外排", "危废间存量远少于台账记录", "将危废混入一般固废外运", "{w}去向不明",
                 "{w}私自掩埋")
INSIDER_DETAIL = ("时间多在周末", "运输车辆无危险品标志", "检查前会临时整改", "已持续一年以上", "负责人知情并授意")
INSIDER_TAIL = ("本人不便透露身份。", "请勿回访。", "请保护举报人。", "", "")


def insider(rng: np.random.Generator, ent: str) -> str:
    e = short_name(ent) if chance(rng, 0.3) else ent
    claim = pick(rng, INSIDER_CLAIM).format(w=waste_of(rng, ent))
    return pick(rng, INSIDER).format(e=e, c=claim, d=pick(rng, INSIDER_DETAIL), t=pick(rng, INSIDER_TAIL))


NOISE = {
    "odour": ("{e}排放异味，影响周边居民。", "{e}附近空气有刺激性气味，请监测。", "{e}气味扰民，多次反映无果。",
              "{e}废气未经处理直排，臭味明显。"),
    "dispute": ("{e}经营扰民，油污流至公共道路。", "{e}占道堆放废旧轮胎、油桶。", "{e}噪声扰民。",
                "{e}违规占用农田堆放杂物。"),
    "vague": ("据了解有人非法倾倒废物，地点不详。", "听说{town}有人偷排，真假不明，请核实。", "网传{river}被污染，请核实。",
              "怀疑有车辆夜间运输危险废物。", "{town}一带疑似有人私收废油，情况不明。"),
    "parked": ("{river}边长期停放危化品车辆，存在隐患。", "{town}路边停放罐车，疑似泄漏。", "有货车在{village}附近停放，用途不明。",
               "{village}河边空地常有货车过夜，车上有桶。"),
    "smoke": ("{e}冒黑烟。", "{e}焚烧废物，烟雾较大。", "{e}锅炉排放黄烟。", "{e}露天焚烧，烟味刺鼻。"),
}
NOISE_TAIL = ("请核查。", "望处理。", "不便留名。", "", "", "")


def noise(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
    f = dict(fill, e=fill["ent"] or pick(rng, ENT_VAGUE))
    for k in ("river", "village", "town"):
        f[k] = f[k] or "当地"
    body = pick(rng, NOISE[kind]).format(**f)
    when = f"{_when(rng, hour, md)}，" if chance(rng, 0.3) else ""
    return f"{when}{body}{pick(rng, NOISE_TAIL)}"


REPEAT = ("重复举报。{t}", "此前已举报，未见处理。{t}", "{t}（二次举报）", "{t}至今未处理，再次举报。", "再报：{t}",
          "{t}仍在继续。", "补充：{t}近日又有发生。")


def repeat(rng: np.random.Generator, text: str) -> str:
    return pick(rng, REPEAT).format(t=text)


VOICE = Voice(
    name="anonymous",
    register_zh="匿名，简短书面，第三人称，地点有时含糊",
    register_en="anonymous, short and written-formal, third person, sometimes vague about the place",
    compose_event=event,
    compose_insider=insider,
    compose_patrol=lambda rng, where: official.patrol(rng, where, (0.5, 0.2, 0.3)),
    compose_noise=noise,
    compose_repeat=repeat,
)
