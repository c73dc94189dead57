"""Fragments of Chinese tip texts, composed at random so that no two callers sound alike."""

from __future__ import annotations

import numpy as np

WHAT = {
    "water": ("有辆货车停在{river}边，往河里放黑乎乎的水", "看到有人把车上的桶打开往河里倒", "{river}上漂着一层油花，闻着很冲",
              "{river}边死了不少鱼，水是黄褐色的", "河边有车倒了好多液体，河水变色了", "有人半夜往{river}里排东西，哗哗的响",
              "水库边上被倒了东西，水面发白", "河滩上被倒了一堆黑色的油泥"),
    "karst": ("有车往{cave}那个洞里倒东西", "溶洞口堆了好些蓝色铁桶", "山脚的洞里流出来的水有颜色还有怪味",
              "{cave}附近天坑里被倒了很多废液", "有人把桶里的东西灌进落水洞里", "岩洞边上一股化学品的味道"),
    "dump": ("荒地里被倒了一大堆不明废料", "山坳里扔了几十个化工桶", "半夜有车来倒废渣，味道很冲", "田边被人倒了黑色油泥，庄稼都死了",
             "路边林子里有人倒了好多桶装的东西", "废弃采石场里堆了很多编织袋，漏出来的水是绿色的", "山沟里有人卸了一车桶"),
    "workshop": ("村后面有个没挂牌的厂，天天晚上有车进出", "一个院子里堆满了废机油桶，还在烧东西", "有人在偷偷拆电瓶，酸水流得到处都是",
                 "小作坊在炼油，烟很大很臭", "有个棚子晚上灯火通明，好多桶装废液拉进去", "废品站后面在熬什么东西，熏得人头疼"),
    "covert": ("{ent}后面的水沟经常排出有颜色的水", "{ent}晚上偷偷排污，白天不排", "{ent}围墙外有根管子通到沟里",
               "{ent}旁边的地里冒刺鼻的味道", "{ent}晚上机器响个不停，排水沟一股酸味", "{ent}后面挖了个坑，废水都往里灌"),
    "unlicensed": ("{ent}把废料卖给没有资质的人", "听说{ent}的危废送到一个没证的回收点", "{ent}的废油被个人收走了，没有联单",
                   "有个收废品的经常去{ent}拉桶装的东西"),
}
INSIDER = ("厂里让我们晚上把废液偷偷拉出去倒掉", "台账是做假的，实际产生的比报的多很多", "联单上写的数量和实际拉走的对不上",
           "老板让人把废油卖给收油的个人", "厂里在后面挖了个坑排废水", "有几车废料没开联单就拉走了", "晚上开工的时候废水直接排掉",
           "危废仓库里的桶少了很多，账上却没有变化", "司机说半路上卸掉一部分再去处置厂")
PATROL = ("巡查发现{where}有{n}个废弃化工桶，疑似危险废物", "巡查发现{where}有倾倒痕迹，现场有刺激性气味",
          "无人机巡查发现{where}水体颜色异常", "巡查中在{where}发现新鲜车辙和油污，疑似有人倾倒", "日常巡查发现{where}有渗漏痕迹")
VEHICLE = ("一辆蓝色厢式货车", "一辆白色小货车", "一辆挂危险品标志的罐车", "一辆没挂牌的农用车", "一辆黄色的货车", "两辆货车",
           "一辆绿色厢式车", "一辆没有标志的箱货")
PLATE = ("车牌好像是{p}", "车牌尾号{tail}", "看到车牌是{head}开头的", "车牌没看清", "车牌{p}")
SMELL = ("味道很刺鼻", "一股油漆味", "一股农药味", "熏得人头晕", "臭得开不了窗", "一股酸味", "像烧塑料的味道", "")
ASK = ("请尽快来处理", "希望有关部门查一查", "已经不是第一次了", "担心污染饮用水", "麻烦派人来看看", "", "", "村里人都很担心")
NOISE = {
    "odour": ("{ent}附近总有一股臭味，晚上更明显", "{ent}排的气味很难闻，影响休息", "{ent}那边飘过来一股化学味", "住在{ent}旁边，天天闻怪味"),
    "dispute": ("隔壁{ent}修车的油污流到我家门口", "{ent}噪音太大，天天吵到半夜", "{ent}占道堆放轮胎和油桶", "{ent}洗车的水流到路上"),
    "vague": ("听说有人在乱倒垃圾，具体不清楚", "好像有人在山里倒东西", "网上看到说有人偷排，不知道真假", "村里有人说河水变差了，不知道什么原因",
              "最近路上大货车多了，怀疑拉危险废物"),
    "parked": ("河边停了好几辆危险品车，担心漏油", "{town}路边经常停着大货车，不知道拉的什么", "半夜有货车在路边停了很久，不知道在干什么",
               "饭店门口停着一辆罐车，一股味道"),
    "smoke": ("{ent}烟囱冒黑烟", "{ent}晚上烧东西，烟很大", "{ent}的锅炉冒黄烟"),
}
WHEN_NIGHT = ("昨晚{h}点多", "前天晚上{h}点左右", "{md}晚上", "这几天晚上", "最近半个月经常在半夜", "昨天半夜", "{md}凌晨")
WHEN_DAY = ("昨天下午", "今天上午", "{md}白天", "前几天", "这个星期", "{md}中午", "最近")


def compose(rng: np.random.Generator, kind: str, fill: dict[str, str], when: str, vehicle: str, plate: str) -> str:
    """One caller's words: what was seen, when, where, maybe a vehicle and plate, a smell, a plea."""
    what = _pick(rng, WHAT[kind]).format(**fill)
    parts = [when + "，" if when and rng.random() < 0.85 else "", fill.get("where_phrase", "")]
    parts.append(what)
    if vehicle and rng.random() < 0.6:
        parts.append("，" + vehicle)
        if plate and rng.random() < 0.6:
            parts.append("，" + plate)
    smell = _pick(rng, SMELL)
    if smell and rng.random() < 0.5:
        parts.append("，" + smell)
    ask = _pick(rng, ASK)
    text = "".join(parts) + ("。" + ask if ask else "")
    return text + ("。" if not text.endswith("。") and rng.random() < 0.7 else "")


def insider(rng: np.random.Generator, ent_name: str) -> str:
    lead = _pick(rng, ("我是{e}的员工，", "我在{e}上班，", "本人是{e}的职工，", "{e}内部人员反映：", "我以前在{e}干过，"))
    tail = _pick(rng, ("希望保密。", "请不要透露我的身份。", "可以提供照片。", "", "时间大概是晚上十点以后。"))
    body = _pick(rng, INSIDER)
    if not any(w in ent_name for w in ("厂", "公司")):  # a hospital, a laboratory
        body = body.replace("厂里", "单位里").replace("工厂", "单位")
    return lead.format(e=ent_name) + body + "。" + tail


def patrol(rng: np.random.Generator, where: str) -> str:
    return _pick(rng, PATROL).format(where=where, n=int(rng.integers(5, 60)))


def noise(rng: np.random.Generator, kind: str, fill: dict[str, str], when: str) -> str:
    body = _pick(rng, NOISE[kind]).format(**fill)
    lead = when + "，" if when and rng.random() < 0.4 else ""
    return lead + body + ("。" + _pick(rng, ASK) if rng.random() < 0.5 else "。")


def when_phrase(rng: np.random.Generator, event_hour: float, md: str) -> str:
    night = event_hour >= 20 or event_hour < 5
    hour = int(event_hour) % 12 or 12
    return _pick(rng, WHEN_NIGHT if night else WHEN_DAY).format(h=hour, md=md)


def plate_phrase(rng: np.random.Generator, plate: str) -> str:
    if not plate:
        return ""
    masked = plate[:3] + "".join(c if rng.random() < 0.5 else "*" for c in plate[3:])
    return _pick(rng, PLATE).format(p=masked, tail=plate[-2:], head=plate[:3])


def _pick(rng: np.random.Generator, options) -> str:
    return options[int(rng.integers(len(options)))]


REPEAT_LEAD = ("再次反映：", "之前反映过，还是这样：", "又来了，", "上次举报了没人管，", "重复举报：")


class ClassicVoice:
    """The simulator's original phrasing (the fragments above), with the interface of ``simulation.tipvoices``."""

    name = "classic"

    def event(self, rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str,
              vehicle: bool, plate: str) -> str:
        fill = {**fill, "ent": fill.get("ent") or "那家厂"}
        when = when_phrase(rng, hour, md)
        seen = VEHICLE[int(rng.integers(len(VEHICLE)))] if vehicle else ""
        return compose(rng, kind, fill, when, seen, plate_phrase(rng, plate) if plate else "")

    def insider(self, rng: np.random.Generator, ent_name: str) -> str:
        return insider(rng, ent_name)

    def patrol(self, rng: np.random.Generator, where: str) -> str:
        return patrol(rng, where)

    def noise(self, rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
        fill = {**fill, "ent": fill.get("ent") or "那家厂"}
        return noise(rng, kind, fill, when_phrase(rng, hour, md))

    def repeat(self, rng: np.random.Generator, text: str) -> str:
        return _pick(rng, REPEAT_LEAD) + text
