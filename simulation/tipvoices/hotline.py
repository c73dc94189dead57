"""A hotline operator's record of a call (12369 or 110): third person (来电人, 报警人, 群众), a fixed
record layout (反映/称 … 诉求 …), times as 时许, official verbs (倾倒, 排放, 堆放), remarks in
brackets about the caller.
"""

from __future__ import annotations

import re

import numpy as np

from simulation.tipvoices import official
from simulation.tipvoices.base import (
    Voice,
    chance,
    period,
    pick,
    plate_masked,
    plate_tail,
    short_name,
    waste_of,
)

CALLER = ("来电人反映", "来电人称", "群众来电反映", "报警人称", "市民来电反映", "来电群众反映")
SEEN = {
    "water": ("有人员向{river}倾倒不明液体，水体呈黑色", "{river}流经{village}的河段有车辆向河中排放废水",
              "在{river}岸边发现有人用水管向河内排放液体，河面有油膜", "{village}旁的山塘出现死鱼，疑被人投放化学品",
              "{village}水渠内有大量黄褐色液体流入{river}"),
    "karst": ("有车辆向{cave}倾倒桶装液体", "{village}后山溶洞口有人倾倒废液，洞内连通地下河",
              "{cave}附近落水洞内被倾倒不明物质，有异味", "{village}地下河出水口水质发浑、有异味"),
    "dump": ("{village}附近山坡被倾倒大量不明废渣", "{village}路旁林地内堆放数十个化工桶，有液体渗出",
             "{village}附近荒地被倾倒黑色污泥状物质", "{village}耕地旁被倾倒工业垃圾"),
    "workshop": ("{village}有一无牌照加工点收集废机油进行提炼", "{village}一处民房内有人拆解废旧蓄电池，废酸随意排放",
                 "{village}旧厂房内有人非法加工废塑料废油，异味较大"),
    "covert": ("{ent}通过厂区外暗管排放废水", "{ent}排水口排出有色废水流入附近沟渠", "{ent}将生产废水排入厂内渗坑",
               "{ent}厂区雨水排口有异常颜色废水排出"),
    "unlicensed": ("{ent}将危险废物交由无资质人员处置", "{ent}废机油被个人收购，未办理转移手续",
                   "{ent}有不明车辆运出桶装废物，去向不明"),
}
ENT_VAGUE = ("附近一家企业（名称不详）", "一家工厂（来电人不清楚名称）", "当地一企业")
WHERE = ("{county}{town}{village}", "{town}{village}", "{town}辖区", "{county}{town}")
WHEN = {
    "midnight": ("{md}{h}时许", "{md}深夜", "近期夜间"),
    "night": ("{md}凌晨{h}时许", "{md}{h}时许", "近期夜间"),
    "dawn": ("{md}凌晨{h}时许", "{md}清晨"),
    "morning": ("{md}上午{h}时许", "{md}上午"),
    "noon": ("{md}中午{h}时许", "{md}中午"),
    "afternoon": ("{md}下午{h}时许", "{md}下午"),
    "dusk": ("{md}傍晚{h}时许", "{md}傍晚"),
    "evening": ("{md}晚{h}时许", "{md}晚上"),
}
CAR = ("一辆蓝色轻型厢式货车", "一辆白色轻型普通货车", "一辆重型罐式货车", "一辆无号牌三轮摩托车", "一辆黄色自卸货车")
PLATE = ("车牌号为{plate}", "车牌号疑为{masked}", "车牌号尾数为{t2}", "车牌号不详")
ASK = ("来电人要求相关部门尽快调查处理", "来电人要求查处并回复", "诉求：请核实处理", "来电人要求对水质进行检测",
       "来电人担心影响饮用水安全，要求尽快处理")
NOISE_ASK = ("来电人要求相关部门尽快调查处理", "来电人要求查处并回复", "诉求：请核实处理", "来电人要求监测并公开结果")
NOTE = ("（来电人不愿留姓名）", "（来电人称可提供视频）", "（来电人情绪激动）", "（来电人要求电话回复）", "（来电人称已非首次发生）",
        "", "", "")


def _when(rng: np.random.Generator, hour: float, md: str) -> str:
    pd = period(hour)
    return pick(rng, WHEN[pd]).format(md=md, h=int(hour) if pd in ("midnight", "night") else int(hour) % 12 or 12)


def _where(rng: np.random.Generator, fill: dict[str, str]) -> str:
    options = [o for o in WHERE if all(fill[k] for k in ("county", "town", "village") if "{" + k + "}" in o)]
    return pick(rng, options or ("（地点不详）",)).format(**fill)


def event(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str, vehicle: bool,
          plate: str) -> str:
    f = dict(fill)
    f["ent"] = short_name(fill["ent"]) if fill["ent"] and chance(rng, 0.2) else (fill["ent"] or pick(rng, ENT_VAGUE))
    f["village"] = fill["village"] or fill["town"] or "当地"
    f["river"] = fill["river"] or "附近河流"
    where = _where(rng, fill) if chance(rng, 0.7) else ""
    if fill["village"] and fill["village"] in where:
        f["village"] = "该村"
    seen = pick(rng, SEEN[kind]).format(**f)
    car = ""
    if vehicle:
        car = f"涉事车辆为{pick(rng, CAR)}"
        if plate:
            car += "，" + pick(rng, PLATE).format(plate=plate, masked=plate_masked(rng, plate, 0.6), t2=plate_tail(plate, 2))
    when = _when(rng, hour, md)
    lead = f"{pick(rng, CALLER)}：{when}，在{where}，{seen}" if where else f"{pick(rng, CALLER)}：{when}，{seen}"
    return f"{lead}。{car}。{pick(rng, ASK)}。{pick(rng, NOTE)}"


INSIDER = ("来电人自称{e}员工，反映该单位{c}，要求对其身份保密。", "来电人系{e}内部人员，称{c}，可提供照片。",
           "匿名来电反映{e}{c}，来电人自称在该单位工作。", "来电人自称原{e}职工，反映该单位{c}，{d}。",
           "来电人（{e}在职员工）反映：{c}。{d}。")
CLAIM = ("危险废物台账与实际不符", "危险废物未按规定转移，私下交由个人处置", "通过暗管偷排生产废水",
         "事故应急池废水经雨水口外排", "{w}长期未申报", "{w}未进危废暂存间，露天堆放", "{w}夜间由无资质车辆运出")
DETAIL = ("来电人称该情况已持续较长时间", "来电人称可配合调查", "来电人要求不要上门回访", "来电人称负责人知情",
          "来电人不愿透露具体岗位")


def insider(rng: np.random.Generator, ent: str) -> str:
    claim = pick(rng, CLAIM).format(w=waste_of(rng, ent))
    return pick(rng, INSIDER).format(e=ent, c=claim, d=pick(rng, DETAIL))


NOISE = {
    "odour": ("{e}周边有明显异味，影响居民生活", "{e}生产时排放刺激性气味，来电人称晚上尤为严重",
              "{e}附近有臭味，来电人怀疑废气未经处理"),
    "dispute": ("{e}经营过程中产生油污、噪声，影响邻里", "{e}占用公共道路堆放废旧轮胎及油桶", "与{e}存在邻里纠纷，称其污水流入自家院落"),
    "vague": ("听说{town}有人倾倒废物，具体地点不清楚", "怀疑有人向{river}排污，未亲眼所见", "{town}近期货车增多，怀疑运输危险废物",
              "来电人称{river}水质变差，原因不明"),
    "parked": ("{river}边停放多辆危险品运输车辆，担心泄漏", "{village}路边长期停放一辆罐车，有异味",
               "{river}边空地夜间停放货车，车上装有桶状物，用途不明"),
    "smoke": ("{e}烟囱排放黑烟", "{e}焚烧废物产生浓烟", "{e}冒出黄色烟雾，气味刺鼻"),
}


def noise(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
    f = dict(fill, e=fill["ent"] or pick(rng, ENT_VAGUE))
    f["village"] = fill["village"] or "当地"
    f["town"] = fill["town"] or "当地"
    f["river"] = fill["river"] or "附近河流"
    body = pick(rng, NOISE[kind]).format(**f)
    when = f"{_when(rng, hour, md)}，" if kind in ("parked", "smoke") and chance(rng, 0.5) else ""
    return f"{pick(rng, CALLER)}：{when}{body}。{pick(rng, NOISE_ASK)}。{pick(rng, NOTE)}"


REPEAT = ("（重复件）{t}", "来电人再次反映：{t}", "来电人称此前已反映，问题仍未解决。原反映内容：{t}",
          "{t}（此为来电人第二次来电）", "同一事项再次来电。{t}")


def repeat(rng: np.random.Generator, text: str) -> str:
    body = re.sub(r"^[^：，。]{2,8}(反映|称)：", "", text)  # the first record's caller line, said again below
    return pick(rng, REPEAT).format(t=body)


VOICE = Voice(
    name="hotline",
    register_zh="热线接线员记录，第三人称，“来电人反映……诉求……”",
    register_en="hotline operator's record, third person, fixed report layout",
    compose_event=event,
    compose_insider=insider,
    compose_patrol=lambda rng, where: official.patrol(rng, where, (0.6, 0.25, 0.15)),
    compose_noise=noise,
    compose_repeat=repeat,
)
