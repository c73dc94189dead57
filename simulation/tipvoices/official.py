"""Official registers for patrol findings: an enforcement officer's record, a grid worker's or
village river chief's daily report, and a drone survey's comparison of images. Voices that have
no patrol style of their own delegate here with their own mix of the three.
"""

from __future__ import annotations

import numpy as np

from simulation.tipvoices.base import chance, cn, pick

_RECORD_OPEN = ("执法人员", "执法大队", "我局执法人员", "生态环境综合行政执法人员", "县分局执法人员会同乡镇")
_RECORD_WHEN = ("日常巡查中", "开展“清废行动”排查时", "双随机检查途中", "开展河道专项检查时", "落实夜查行动时")
_RECORD_FOUND = (
    "发现{n}个废弃包装桶，部分桶内残留黑色黏稠液体",
    "发现一处新近倾倒点，堆放疑似工业污泥约{t}吨",
    "发现路旁沟渠内有油状物漂浮，长约{m}米",
    "发现地面有大面积黑色渗漏痕迹及新鲜车辙",
    "发现吨桶{n}个，标签已被撕除，桶口有刺激性气味逸出",
    "发现岸坡有液体冲刷痕迹，水体呈褐色",
    "发现编织袋装固体废物约{n}袋，袋内物质呈灰绿色",
)
_RECORD_ACT = (
    "已拍照取证并现场采样送检",
    "已设置警示标志，通知属地乡镇看护",
    "已采集水样，待监测结果出来后进一步处理",
    "已调取周边道路视频，正在排查来源",
    "已固定现场，移交案件办理组",
    "",
)
_GRID_WHO = ("网格员", "村级河长", "护河员", "生态护林员", "村环境监督员")
_GRID_BODY = (
    "{who}巡查报告：{where}路边新发现倾倒点一处，面积约{a}平方米，现场有桶装物{n}个，已上报。",
    "{who}巡河发现{where}河段水面发黑，岸边有油污带约{m}米，附近未见排口，请分局派人核实。",
    "{who}反映：{where}有人堆放不明废物，有异味，现场已拉警戒线。",
    "{where}，{who}例行巡查时发现地表有成片黑色油渍，周边植被枯死，疑似液体倾倒所致。",
    "{who}上报：{where}一处石洞口新增{n}个铁桶，洞内有积液，疑似危险废物。",
    "今日{who}巡查，{where}一处水沟颜色异常（偏红褐色），已拍照，需专业人员取样。",
)
_DRONE_BODY = (
    "无人机航拍比对发现{where}新增疑似倾倒图斑一处，面积约{a}平方米，较上月影像为新出现。",
    "无人机巡飞{where}，影像显示岸边有深色条带状物质进入水体，长度约{m}米。",
    "遥感影像与无人机核查：{where}地块新增堆放物，堆体呈黑色，疑似含油废物。",
    "无人机热成像发现{where}一处棚房持续有热源，周边堆放桶状物{n}余个，疑为无证加工点。",
    "无人机巡查{where}：水面可见大片彩色油膜，上游方向有车辆碾压痕迹。",
)


def _numbers(rng: np.random.Generator) -> dict[str, object]:
    return {"n": int(rng.integers(4, 80)), "t": int(rng.integers(2, 40)), "m": int(rng.integers(20, 600)),
            "a": int(rng.integers(30, 1500))}


def record(rng: np.random.Generator, where: str) -> str:
    """An enforcement officer's record: who, during what, at where, found what, what was done."""
    nums = _numbers(rng)
    where = where or "辖区内"
    found = pick(rng, _RECORD_FOUND).format(**nums)
    act = pick(rng, _RECORD_ACT)
    head = f"{pick(rng, _RECORD_OPEN)}{pick(rng, _RECORD_WHEN)}在{where}"
    return f"{head}{found}，{act}。" if act else f"{head}{found}。"


def grid(rng: np.random.Generator, where: str) -> str:
    """A grid worker's or river chief's report, plain and short."""
    return pick(rng, _GRID_BODY).format(who=pick(rng, _GRID_WHO), where=where or "本村", **_numbers(rng))


def drone(rng: np.random.Generator, where: str) -> str:
    """A drone or remote-sensing comparison."""
    text = pick(rng, _DRONE_BODY).format(where=where or "辖区", **_numbers(rng))
    if chance(rng, 0.3):
        text += f"已推送{pick(rng, ('属地乡镇', '执法大队', '县分局'))}，要求{cn(int(rng.integers(1, 8)))}日内核查反馈。"
    return text


def patrol(rng: np.random.Generator, where: str, weights: tuple[float, float, float] = (0.45, 0.35, 0.2)) -> str:
    """One of the three registers, drawn with `weights` (record, grid, drone)."""
    p = np.asarray(weights, dtype=float)
    style = int(rng.choice(3, p=p / p.sum()))
    return (record, grid, drone)[style](rng, where)
